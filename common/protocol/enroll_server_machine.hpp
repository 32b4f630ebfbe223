#pragma once

// The enrollment port (8251), server side: one `enroll` frame in within the
// deadline, one `enrolled` or `error` frame out, close once it is flushed.
//
//   awaiting_request --request or bad input--> awaiting_verdict (CheckRateLimit)
//   awaiting_verdict --limited--> closed (`rate_limited`; the store is not asked)
//                    --allowed, refused by the checks--> closed (`error`)
//                    --allowed--> awaiting_redeem (Redeem: the driver's store and CA)
//   awaiting_redeem  --redeemed--> closed (`enrolled`, `error` or `unavailable`)
//   awaiting_request --deadline or peer gone--> closed (nothing answered)
//
// A `renew_expired` request (an agent whose certificate expired, within the
// grace period) takes the same path with its own store-free checks
// (check_renew_expired_request) and RenewExpiredRedeem in place of Redeem;
// its answer is `enrolled` too.
//
// The request is read first even from a limited address: closing on unread
// bytes would reset the connection and lose the answer. The rate limit
// itself is shared by all sessions and stays with the driver; its verdict
// comes in as an input. Driven by mgmt/enroll_session.cpp; the fuzz target
// and tests drive it through mgmt::answer_enroll_bytes.

#include "common/protocol/enroll_request_check.hpp"
#include "common/protocol/frame_intake.hpp"
#include "common/protocol/time_point.hpp"
#include "common/wire/error_code.hpp"
#include "common/wire/messages.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace agentlb::protocol {

// What the driver's redeem step (token redeemed and certificate issued in one
// store transaction) came back with.
struct EnrollGranted {
    wire::EnrollResponse response;
    bool re_enrolled = false;
    // Answer to `renew_expired`: the serial of the expired certificate replaced.
    std::string renewed_serial{};
};
// The store failed: answered `unavailable` (the server's fault, not counted
// against the peer). `failure` is what the store threw, for the driver's log
// only: never sent.
struct EnrollStoreUnavailable {
    std::string failure;
};
using EnrollRedeemed = std::variant<EnrollGranted, EnrollRefusal, EnrollStoreUnavailable>;

class EnrollServerMachine {
public:
    enum class State {
        awaiting_request,  // reading the one request (from start() on, within the deadline)
        awaiting_verdict,  // asked the rate limit about the peer
        awaiting_redeem,   // asked the driver to redeem the token: no deadline, the store bounds itself
        closed,
    };

    enum class CloseReason {
        enrolled,           // answered `enrolled`
        refused,            // answered `error`: the request's fault (counts toward the rate limit)
        rate_limited,       // answered `rate_limited` without asking the store
        store_unavailable,  // answered `unavailable`: the server's fault
        timeout,            // no request in time: nothing answered
        peer_closed,        // the peer left before its request was complete: nothing answered
    };

    enum class RateVerdict { allowed, limited };

    // The answer: write it, then the Close that follows says to flush it.
    struct Send {
        wire::Message message;
    };
    // Ask the rate limit whether the peer may go on; answer with on_rate_verdict().
    struct CheckRateLimit {};
    // Redeem the token and issue the certificate (after parsing the CSR);
    // answer with on_redeemed().
    struct Redeem {
        wire::EnrollRequest request;
    };
    // Check the expired certificate, the proof of its key over this channel
    // and the grace, then issue the new certificate: the driver's OpenSSL and
    // store. Answer with on_redeemed().
    struct RenewExpiredRedeem {
        wire::RenewExpired request;
    };
    // The one way a session ends. `detail` is safe to log (peer text escaped
    // and bounded): the answer's "code: text", "host NAME (id N, zone Z)"
    // for `enrolled`, or why nothing was answered.
    struct Close {
        CloseReason reason;
        std::string detail;
        bool flush_first = false;
        std::optional<wire::ErrorCode> code;  // the code answered, when an `error` was
    };

    using Action = std::variant<Send, CheckRateLimit, Redeem, RenewExpiredRedeem, Close>;
    using Actions = std::vector<Action>;

    // `source`: the rate limit's key for the peer, named in `rate_limited` answers.
    EnrollServerMachine(Duration request_timeout, std::string source);

    State state() const noexcept { return state_; }
    // TimePoint::max() when nothing is timed.
    TimePoint deadline() const noexcept { return deadline_; }

    // The TLS handshake is done: the request's deadline starts now.
    Actions start(TimePoint now);
    // Bytes as read from the connection.
    Actions on_bytes(const void* data, std::size_t size, TimePoint now);
    // A decoded message (tests script these).
    Actions on_message(wire::Message message, TimePoint now);
    // The connection ended (read error, EOF) with `detail` (driver-made, safe to log).
    Actions on_closed(std::string detail, TimePoint now);
    // The driver's timer fired; early calls do nothing.
    Actions on_timer(TimePoint now);
    Actions on_rate_verdict(RateVerdict verdict, TimePoint now);
    Actions on_redeemed(EnrollRedeemed redeemed, TimePoint now);

private:
    // Every state change, with the deadline that goes with it.
    void enter(State next, TimePoint now);
    Actions take_input(TimePoint now);
    Actions answer(wire::Message message, Close close, TimePoint now);
    Actions refuse(const EnrollRefusal& refusal, TimePoint now);
    Actions close(Close close, TimePoint now);

    State state_ = State::awaiting_request;
    Duration request_timeout_;
    TimePoint deadline_ = TimePoint::max();
    std::string source_;
    FrameIntake intake_;
    // Between the request and the verdict: the request, or the refusal its
    // frame or message earned.
    std::optional<wire::EnrollRequest> request_;
    std::optional<wire::RenewExpired> renewal_;
    std::optional<EnrollRefusal> bad_input_;
};

// The agentlb_enrollments_total label of how a session ended: ok,
// bad_request, refused, bad_csr, store_error, rate_limited, timeout, closed.
std::string_view enroll_result_label(const EnrollServerMachine::Close& close) noexcept;

// Whether the ending counts toward the rate limit of the peer's address: a
// refusal the request caused (never `rate_limited`, `unavailable`, a timeout
// or a close).
bool counts_against_peer(const EnrollServerMachine::Close& close) noexcept;

}  // namespace agentlb::protocol
