#include "common/protocol/enroll_client_machine.hpp"

#include "common/util/text.hpp"

#include <chrono>
#include <utility>

namespace agentlb::protocol {
namespace {

// How much of a server's text a Close's detail holds.
constexpr std::size_t kShownPeerText = 200;

// Control bytes made visible, length bounded: a server cannot forge or
// colour the agent's log lines.
std::string shown(std::string_view text) {
    return util::peer_text(text, kShownPeerText);
}

using Close = EnrollClientMachine::Close;
using CloseReason = EnrollClientMachine::CloseReason;

Close ending(CloseReason reason, std::string detail, bool flush_first) {
    Close close;
    close.reason = reason;
    close.detail = std::move(detail);
    close.flush_first = flush_first;
    return close;
}

}  // namespace

bool enroll_refusal_is_final(std::optional<wire::ErrorCode> code) noexcept {
    // An `error` answer ends enrolment with exit 1 (docs/DESIGN.md, agent):
    // wrong or used tokens stay wrong, and a rate_limited server is worked
    // around by the operator (a fixed token), not by retrying the same
    // request. `unavailable` says nothing of the token: the server could
    // not reach its store and redeemed nothing, so the agent retries with
    // backoff. An unknown code is a refusal. The one place to make a code
    // retryable.
    return code != wire::ErrorCode::unavailable;
}

EnrollClientMachine::EnrollClientMachine(Duration timeout) : timeout_(timeout) {}

void EnrollClientMachine::enter(State next, TimePoint now) {
    state_ = next;
    deadline_ = next == State::awaiting_answer ? now + timeout_ : TimePoint::max();
}

EnrollClientMachine::Actions EnrollClientMachine::start(wire::Message request, TimePoint now) {
    if (state_ != State::idle) {
        return {};
    }
    enter(State::awaiting_answer, now);
    return {Send{std::move(request)}};
}

EnrollClientMachine::Actions EnrollClientMachine::on_bytes(const void* data,
                                                           std::size_t size,
                                                           TimePoint now) {
    if (state_ != State::awaiting_answer) {
        return {};
    }
    intake_.feed(data, size);
    auto intake = intake_.next();
    if (auto* message = std::get_if<wire::Message>(&intake)) {
        return on_message(std::move(*message), now);
    }
    if (auto* bad = std::get_if<BadInput>(&intake)) {
        return close(ending(CloseReason::bad_answer, "unreadable answer: " + bad->detail, true), now);
    }
    return {};
}

EnrollClientMachine::Actions EnrollClientMachine::on_message(wire::Message message, TimePoint now) {
    if (state_ != State::awaiting_answer) {
        return {};
    }
    if (auto* enrolled = std::get_if<wire::EnrollResponse>(&message)) {
        Close close = ending(CloseReason::enrolled, "enrolled", true);
        close.response = std::move(*enrolled);
        return this->close(std::move(close), now);
    }
    if (auto* error = std::get_if<wire::Error>(&message)) {
        const auto code = wire::error_code_from_text(error->code);
        const bool final = enroll_refusal_is_final(code);
        Close close =
            ending(CloseReason::refused,
                   std::string(final ? "refused by the server: " : "the server cannot enroll now: ") +
                       shown(error->code) + ": " + shown(error->message),
                   true);
        close.code = code;
        close.final = final;
        close.refusal = std::move(*error);
        return this->close(std::move(close), now);
    }
    const std::string type(wire::message_type(message));
    return close(ending(CloseReason::bad_answer, "unexpected answer " + type, true), now);
}

EnrollClientMachine::Actions EnrollClientMachine::on_closed(std::string detail, TimePoint now) {
    if (state_ != State::awaiting_answer) {
        return {};
    }
    return close(ending(CloseReason::closed, std::move(detail), false), now);
}

EnrollClientMachine::Actions EnrollClientMachine::on_timer(TimePoint now) {
    if (state_ != State::awaiting_answer || now < deadline_) {
        return {};
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count();
    return close(ending(CloseReason::timeout, "no answer within " + std::to_string(ms) + " ms", false), now);
}

EnrollClientMachine::Actions EnrollClientMachine::close(Close close, TimePoint now) {
    enter(State::closed, now);
    return {std::move(close)};
}

}  // namespace agentlb::protocol
