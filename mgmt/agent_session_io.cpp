// An agent session after welcome: reading, answering and writing frames
// without a coroutine, and the watchdog that enforces every timeout.

#include "common/util/exception_text.hpp"
#include "mgmt/agent_session.hpp"
#include "mgmt/shared_state.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

namespace agentlb::mgmt {

namespace asio = boost::asio;
using boost::system::error_code;
using wait_type = asio::ip::tcp::socket::wait_type;

namespace {

// Reads per wake-up before yielding to the thread's other sessions: an agent
// that sends without pause cannot starve them.
constexpr int kReadsPerTurn = 16;

}  // namespace

char* AgentSession::thread_read_buffer(std::size_t& size) {
    thread_local std::array<char, 16 * 1024> buffer;
    size = buffer.size();
    return buffer.data();
}

void AgentSession::read_available(bool readable) {
    for (int turn = 0; turn < kReadsPerTurn; ++turn) {
        for (;;) {
            if (renewing_) {
                return;  // renew() resumes reading once the store answered
            }
            error_code ec;
            auto payload = decoder_.next(ec);
            if (ec) {
                stop_reading(ReadResult{std::nullopt, "bad frame: " + ec.message(), false});
                return;
            }
            if (!payload) {
                break;
            }
            last_frame_ = Clock::now();
            wire::Message message;
            std::string detail;
            ec = wire::decode_message(*payload, message, detail);
            if (ec) {
                stop_reading(ReadResult{
                    std::nullopt, "bad message: " + (detail.empty() ? ec.message() : detail), false});
                return;
            }
            if (!handle(message)) {
                stop_reading(ReadResult{std::nullopt, {}, true});
                return;
            }
        }
        // Asio's wait re-arms the descriptor (EPOLL_CTL_MOD), which reports
        // data already waiting: a read that would only find the socket empty
        // (one more system call per frame) is skipped.
        if (!readable && !stream_.has_pending()) {
            wait_readable(wait_type::wait_read);
            return;
        }
        readable = false;
        std::size_t size = 0;
        char* buffer = thread_read_buffer(size);
        error_code ec;
        wait_type want = wait_type::wait_read;
        const std::size_t n = stream_.read_now(buffer, size, ec, want);
        if (ec == asio::error::would_block) {
            wait_readable(want);
            return;
        }
        if (ec) {
            stop_reading(read_failure(ec));
            return;
        }
        decoder_.feed(buffer, n);
    }
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->read_available(false); });
}

void AgentSession::wait_readable(wait_type want) {
    if (!stream_.is_open()) {
        stop_reading(read_failure(asio::error::operation_aborted));
        return;
    }
    stream_.socket().async_wait(want, [self = shared_from_this()](const error_code& ec) {
        // After close() the descriptor number may belong to another
        // connection already: never hand it to OpenSSL again.
        if (ec || !self->stream_.is_open()) {
            self->stop_reading(self->read_failure(ec ? ec : asio::error::operation_aborted));
            return;
        }
        self->read_available(true);
    });
}

void AgentSession::stop_reading(const ReadResult& why) {
    if (!why.reason.empty()) {
        if (why.routine) {
            spdlog::debug("{}: {}", who(), why.reason);
        } else {
            spdlog::warn("{}: closing the session: {}", who(), why.reason);
        }
    }
    end_session();
}

bool AgentSession::handle(const wire::Message& message) {
    if (const auto* ping = std::get_if<wire::Ping>(&message)) {
        send(wire::Pong{ping->seq});
        return true;
    }
    if (const auto* ack = std::get_if<wire::Ack>(&message)) {
        on_ack(ack->seq);
        return true;
    }
    if (const auto* renew_request = std::get_if<wire::Renew>(&message)) {
        renewing_ = true;
        auto self = shared_from_this();
        asio::co_spawn(
            stream_.get_executor(),
            [self, csr = renew_request->csr]() mutable { return self->renew(std::move(csr)); },
            [self](std::exception_ptr e) {
                if (auto text = util::exception_text(e)) {
                    spdlog::error("agent renewal: {}", *text);
                }
                self->renewing_ = false;
                // Also after a close: the read then fails and ends the session.
                self->read_available(true);
            });
        return true;
    }
    spdlog::warn("{}: closing the session: unexpected message '{}'", who(), wire::message_type(message));
    return false;
}

asio::awaitable<void> AgentSession::renew(std::string csr) {
    auto job = [state = state_, csr = std::move(csr), name = name_, host_id = host_id_](
                   store::Store& store) -> Result<std::string> {
        certs::IssueOptions options;
        options.kind = certs::CertificateKind::agent;
        options.common_name = name;
        auto issued = state->ca.issue(csr, options);
        if (!issued) {
            return fail(issued.error());
        }
        store.record_certificate(host_id,
                                 store::IssuedCertificate{issued->pem, issued->serial, issued->not_after});
        return issued->pem;
    };
    try {
        auto issued = co_await state_->store.call(std::move(job));
        if (!issued) {
            spdlog::warn("{}: renewal refused: {}", who(), issued.error());
            send(wire::Error{"renew_refused", issued.error()});
            co_return;
        }
        spdlog::info("{}: issued a renewed certificate", who());
        send(wire::Certificate{std::move(issued).value(), state_->ca.certificate_pem()});
    } catch (const std::exception& e) {
        spdlog::error("{}: renewal failed: {}", who(), e.what());
        send(wire::Error{"unavailable", "the certificate could not be renewed; try again later"});
    }
}

void AgentSession::send(const wire::Message& message) {
    if (stopped_ || close_after_flush_) {
        return;
    }
    if (queue_.size() >= kMaxQueuedFrames) {
        spdlog::warn(
            "{}: closing the session: {} frames waiting, the agent does not read", who(), queue_.size());
        close_now();
        return;
    }
    auto frame = wire::encode_frame(wire::encode_message(message));
    if (!frame) {
        // Our own message too large: a bug, but it must not take the server down.
        spdlog::error(
            "{}: cannot frame a '{}' message: {}", who(), wire::message_type(message), frame.error());
        close_now();
        return;
    }
    queue_.push_back(std::move(frame).value());
    flush();
}

void AgentSession::flush() {
    while (!queue_.empty() && !write_blocked_) {
        wait_type want = wait_type::wait_write;
        const std::string& frame = queue_.front();
        const error_code ec = stream_.write_now(frame.data(), frame.size(), want);
        if (ec == asio::error::would_block) {
            write_blocked_ = true;
            write_blocked_since_ = Clock::now();
            tighten_watchdog();
            stream_.socket().async_wait(want, [self = shared_from_this()](const error_code& wait_ec) {
                self->write_blocked_ = false;
                if (wait_ec || !self->stream_.is_open()) {
                    return;  // closed: the reader ends the session
                }
                self->flush();
            });
            return;
        }
        if (ec) {
            if (!stopped_) {
                spdlog::debug("{}: write failed: {}", who(), ec.message());
            }
            close_now();
            return;
        }
        queue_.pop_front();
    }
    if (queue_.empty() && close_after_flush_ && !stopped_) {
        stream_.shutdown_now();
        close_now();
    }
}

void AgentSession::refuse(std::string_view code, const std::string& message) {
    send(wire::Error{std::string(code), message});
    close_after_flush_ = true;
    if (!write_blocked_) {
        flush();
    }
}

void AgentSession::close_now() {
    if (stopped_) {
        return;
    }
    stopped_ = true;
    watchdog_.cancel();
    stream_.close();
}

AgentSession::Clock::time_point AgentSession::close_deadline() const {
    auto at = phase_deadline_;
    if (idle_reading_) {
        at = std::min(at, last_frame_ + idle_limit());
    }
    if (write_blocked_) {
        at = std::min(at, write_blocked_since_ + idle_limit());
    }
    return at;
}

AgentSession::Clock::time_point AgentSession::deadline() const {
    auto at = close_deadline();
    if (!pending_acks_.empty()) {
        at = std::min(at, pending_acks_.begin()->second + idle_limit());
    }
    return at;
}

// A frame only moves the deadline later: the watchdog then fires early and
// re-arms, so no frame touches the timer. Only entering a phase with a
// shorter limit (welcome, a blocked write, a push) re-arms it at once.
void AgentSession::tighten_watchdog() {
    if (!stopped_ && deadline() < watchdog_.expiry()) {
        arm_watchdog();
    }
}

void AgentSession::arm_watchdog() {
    watchdog_.expires_at(deadline());
    watchdog_.async_wait([weak = weak_from_this()](const error_code& ec) {
        auto self = weak.lock();
        if (!ec && self) {
            self->on_watchdog();
        }
    });
}

void AgentSession::on_watchdog() {
    if (stopped_) {
        return;
    }
    const auto now = Clock::now();
    if (write_blocked_ && now >= write_blocked_since_ + idle_limit()) {
        spdlog::warn("{}: closing the session: a write was blocked for {} s",
                     who(),
                     std::chrono::duration_cast<std::chrono::seconds>(idle_limit()).count());
        close_now();
        return;
    }
    if (!pending_acks_.empty() && now >= pending_acks_.begin()->second + idle_limit()) {
        const std::string why =
            "no ack within " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(idle_limit()).count()) + " s";
        give_up_pushes(0, now - idle_limit(), why);
    }
    if (now >= close_deadline()) {
        timed_out_ = true;  // the reader names the reason when it sees the close
        close_now();
        return;
    }
    arm_watchdog();
}

}  // namespace agentlb::mgmt
