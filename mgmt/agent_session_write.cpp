// AgentSession: writing. A frame is written at once; a wait is armed only
// when the socket is full, and the machine decides what happens to what waits.

#include "common/util/clock.hpp"
#include "mgmt/agent_session.hpp"

#include <string>

namespace agentlb::mgmt {

using boost::system::error_code;
using protocol::CloseReason;

void AgentSession::send(const wire::Message& message) {
    if (ending_ == Ending::done) {
        return;
    }
    auto frame = wire::encode_frame(wire::encode_message(message));
    if (!frame) {
        // Our own message too large: a bug, but it must not take the server down.
        const std::string detail =
            "cannot frame a '" + std::string(wire::message_type(message)) + "' message: " + frame.error();
        feed([&detail](protocol::ServerMachine& m) {
            return m.on_abort(CloseReason::internal, detail, protocol::Clock::now());
        });
        return;
    }
    outbox_.push(std::move(frame).value());
    if (flush_deferred_ > 0) {
        flush_due_ = true;  // carry_out() flushes once it is done
        return;
    }
    flush();
}

void AgentSession::flush() {
    flush_due_ = false;
    if (!stream_.is_open()) {
        return;
    }
    FrameOutbox::Flushed flushed;
    flushed.blocked = write_waiting_;
    if (!write_waiting_) {
        flushed = outbox_.flush(stream_);
        if (!flushed.blocked && !flushed.error) {
            flush_ticket(flushed);
        }
    }
    note_outbox_depth();
    // The machine decides on what waits (a reader too slow is dropped).
    feed([&flushed, queued = outbox_.size()](protocol::ServerMachine& m) {
        return m.on_flushed(queued, flushed.blocked, protocol::Clock::now());
    });
    if (!stream_.is_open() || write_waiting_) {
        return;
    }
    if (flushed.error) {
        const std::string detail = "write failed: " + flushed.error.message();
        feed([&detail](protocol::ServerMachine& m) {
            return m.on_abort(CloseReason::write_failed, detail, protocol::Clock::now());
        });
        close_stream();  // also when a refusal was being written
        return;
    }
    if (flushed.blocked) {
        write_waiting_ = true;
        stream_.socket().async_wait(flushed.want, [self = shared_from_this()](const error_code& ec) {
            self->write_waiting_ = false;
            if (ec || !self->stream_.is_open()) {
                return;  // closed: the close path ended the session
            }
            self->flush();
        });
        return;
    }
    if (ending_ == Ending::flushing) {
        ending_ = Ending::done;
        stream_.shutdown_now();
        close_stream();
    }
}

}  // namespace agentlb::mgmt
