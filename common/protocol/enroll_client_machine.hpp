#pragma once

// The enrollment port (8251), client side: send one `enroll`, read one
// answer within the deadline.
//
//   idle --start--> awaiting_answer (Send the request; the deadline starts)
//   awaiting_answer --`enrolled`--> closed (enrolled)
//                   --`error`--> closed (refused; final or not by its code)
//                   --another message, a bad frame--> closed (bad_answer, retryable)
//                   --deadline--> closed (timeout, retryable)
//                   --connection lost--> closed (closed, retryable)
//
// The TCP connection and the TLS handshake with the pinned CA are the
// driver's (agent/enrollment.cpp, tests/support); a driver that starts the
// machine before its handshake has one deadline for the whole exchange.

#include "common/protocol/frame_intake.hpp"
#include "common/protocol/time_point.hpp"
#include "common/wire/error_code.hpp"
#include "common/wire/messages.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace agentlb::protocol {

class EnrollClientMachine {
public:
    enum class State { idle, awaiting_answer, closed };

    enum class CloseReason {
        enrolled,    // `enrolled` came back: `response`
        refused,     // `error` came back: `refusal`, `code`
        bad_answer,  // a frame or message that is no answer
        timeout,     // no answer within the deadline
        closed,      // the connection ended first
    };

    struct Send {
        wire::Message message;
    };
    // The one way an exchange ends. `detail` says why, safe to log (peer
    // text escaped and bounded): "refused by the server: CODE: TEXT", ...
    struct Close {
        CloseReason reason = CloseReason::closed;
        std::string detail;
        bool flush_first = false;
        bool final = false;  // retrying with the same request cannot help
        std::optional<wire::EnrollResponse> response;
        std::optional<wire::Error> refusal;   // as received
        std::optional<wire::ErrorCode> code;  // the refusal's code, when this build knows it
    };

    using Action = std::variant<Send, Close>;
    using Actions = std::vector<Action>;

    explicit EnrollClientMachine(Duration timeout);

    State state() const noexcept { return state_; }
    // TimePoint::max() when nothing is timed.
    TimePoint deadline() const noexcept { return deadline_; }

    // `request`: an `enroll`, or a `renew_expired` (an agent whose
    // certificate expired; same answers).
    Actions start(wire::Message request, TimePoint now);
    // Bytes as read from the connection.
    Actions on_bytes(const void* data, std::size_t size, TimePoint now);
    // A decoded message (tests script these).
    Actions on_message(wire::Message message, TimePoint now);
    // The connection ended before an answer; `detail` is the driver's, safe to log.
    Actions on_closed(std::string detail, TimePoint now);
    // The driver's timer fired; early calls do nothing.
    Actions on_timer(TimePoint now);

private:
    void enter(State next, TimePoint now);
    Actions close(Close close, TimePoint now);

    State state_ = State::idle;
    Duration timeout_;
    TimePoint deadline_ = TimePoint::max();
    FrameIntake intake_;
};

// Whether a refusal with `code` (nothing: a code this build does not know)
// ends enrolment for good rather than being retried with backoff.
bool enroll_refusal_is_final(std::optional<wire::ErrorCode> code) noexcept;

}  // namespace agentlb::protocol
