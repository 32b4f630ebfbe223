// The server machine's ways out: read errors, refusals (store failure,
// drain, a newer session) and closes. Split from server_machine.cpp so each
// file keeps one concern; the states they move to are documented there.

#include "common/protocol/server_machine.hpp"
#include "common/util/text.hpp"

#include <algorithm>

namespace agentlb::protocol {

Actions ServerMachine::on_read_error(bool routine, std::string detail, TimePoint now) {
    Actions out;
    if (state_ == State::closing || state_ == State::closed) {
        return out;
    }
    const bool before_hello = state_ == State::awaiting_handshake || state_ == State::awaiting_hello;
    if (routine && intake_.idle()) {
        close(before_hello ? CloseReason::closed : CloseReason::peer_closed, "closed by the agent", now, out);
    } else if (routine) {
        close(before_hello ? CloseReason::no_hello : CloseReason::read_failed,
              "closed by the agent in the middle of a frame",
              now,
              out);
    } else {
        close(before_hello ? CloseReason::no_hello : CloseReason::read_failed,
              "read failed: " + detail,
              now,
              out);
    }
    return out;
}

Actions ServerMachine::on_lookup_failed(TimePoint now) {
    Actions out;
    if (state_ == State::looking_up) {
        refuse(wire::ErrorCode::unavailable,
               "the server cannot read its store; try another server",
               CloseReason::store_error,
               "store lookup failed",
               now,
               out);
    }
    return out;
}

Actions ServerMachine::on_draining(std::string message, TimePoint now) {
    Actions out;
    if (state_ == State::looking_up) {
        auto detail = message;
        refuse(wire::ErrorCode::draining,
               std::move(message),
               CloseReason::draining,
               std::move(detail),
               now,
               out);
    } else if (welcomed()) {
        auto detail = message;
        refuse(
            wire::ErrorCode::draining, std::move(message), CloseReason::drained, std::move(detail), now, out);
    }
    return out;
}

Actions ServerMachine::on_superseded(std::string_view by, TimePoint now) {
    Actions out;
    if (welcomed()) {
        refuse(wire::ErrorCode::superseded,
               "a newer session of host " + name_ + " is connected to server " + std::string(by) +
                   "; this one is closed",
               CloseReason::superseded,
               "a newer session of this host is connected to server " + util::peer_text(by, 128) +
                   " (a second machine with this host's key?); closing this one",
               now,
               out);
    }
    return out;
}

Actions ServerMachine::on_abort(CloseReason reason, std::string detail, TimePoint now) {
    Actions out;
    if (state_ != State::closed) {
        close(reason, std::move(detail), now, out);
    }
    return out;
}

void ServerMachine::refuse(wire::ErrorCode code,
                           std::string message,
                           CloseReason reason,
                           std::string detail,
                           TimePoint now,
                           Actions& out) {
    send(wire::make_error(code, std::move(message)), out);
    state_ = State::closing;
    close_reason_ = reason;
    handshake_.reset();
    phase_deadline_ = std::min(phase_deadline_, now + idle_limit());
    out.push_back(Close{reason, std::move(detail), true});
}

void ServerMachine::close(CloseReason reason, std::string detail, TimePoint /*now*/, Actions& out) {
    const bool already = state_ == State::closing;
    state_ = State::closed;
    if (!already) {
        close_reason_ = reason;
    }
    handshake_.reset();
    out.push_back(Close{reason, std::move(detail), false});
}

}  // namespace agentlb::protocol
