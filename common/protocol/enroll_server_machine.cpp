#include "common/protocol/enroll_server_machine.hpp"

#include "common/util/text.hpp"

#include <utility>

namespace agentlb::protocol {
namespace {

using wire::ErrorCode;

// How much of an answer's text a Close's detail holds.
constexpr std::size_t kLoggedAnswerText = 256;

// Not a verdict on the token: nothing was redeemed, and the agent retries.
constexpr std::string_view kStoreUnavailable =
    "the server cannot reach its store right now; nothing was redeemed: retry in a moment (here or on "
    "another server)";

std::string loggable(std::string_view text) {
    return util::peer_text(text, kLoggedAnswerText);
}

std::string described(ErrorCode code, std::string_view text) {
    return std::string(wire::error_code_text(code)) + ": " + loggable(text);
}

EnrollRefusal bad_request(std::string text) {
    return EnrollRefusal{ErrorCode::bad_request, std::move(text)};
}

}  // namespace

EnrollServerMachine::EnrollServerMachine(Duration request_timeout, std::string source)
    : request_timeout_(request_timeout), source_(std::move(source)) {}

void EnrollServerMachine::enter(State next, TimePoint now) {
    state_ = next;
    deadline_ = next == State::awaiting_request ? now + request_timeout_ : TimePoint::max();
    if (next != State::awaiting_verdict) {
        request_.reset();
        renewal_.reset();
        bad_input_.reset();
    }
}

EnrollServerMachine::Actions EnrollServerMachine::start(TimePoint now) {
    if (state_ == State::awaiting_request) {
        enter(State::awaiting_request, now);
    }
    return {};
}

EnrollServerMachine::Actions EnrollServerMachine::on_bytes(const void* data,
                                                           std::size_t size,
                                                           TimePoint now) {
    if (state_ != State::awaiting_request) {
        return {};  // the one request is in: anything after it is not read
    }
    intake_.feed(data, size);
    return take_input(now);
}

EnrollServerMachine::Actions EnrollServerMachine::take_input(TimePoint now) {
    auto intake = intake_.next();
    if (auto* message = std::get_if<wire::Message>(&intake)) {
        return on_message(std::move(*message), now);
    }
    if (auto* bad = std::get_if<BadInput>(&intake)) {
        bad_input_ = bad_request(bad->detail);
        enter(State::awaiting_verdict, now);
        return {CheckRateLimit{}};
    }
    return {};
}

EnrollServerMachine::Actions EnrollServerMachine::on_message(wire::Message message, TimePoint now) {
    if (state_ != State::awaiting_request) {
        return {};
    }
    std::optional<wire::EnrollRequest> request;
    std::optional<wire::RenewExpired> renewal;
    std::optional<EnrollRefusal> refusal;
    if (auto* enroll = std::get_if<wire::EnrollRequest>(&message)) {
        request = std::move(*enroll);
    } else if (auto* renew = std::get_if<wire::RenewExpired>(&message)) {
        renewal = std::move(*renew);
    } else {
        refusal = bad_request("expected an enroll or renew_expired message, got '" +
                              std::string(wire::message_type(message)) + "'");
    }
    enter(State::awaiting_verdict, now);
    request_ = std::move(request);
    renewal_ = std::move(renewal);
    bad_input_ = std::move(refusal);
    return {CheckRateLimit{}};
}

EnrollServerMachine::Actions EnrollServerMachine::on_closed(std::string detail, TimePoint now) {
    if (state_ != State::awaiting_request) {
        return {};  // the request is in: its answer is still decided and counted
    }
    return close(Close{CloseReason::peer_closed, std::move(detail), false, std::nullopt}, now);
}

EnrollServerMachine::Actions EnrollServerMachine::on_timer(TimePoint now) {
    if (state_ != State::awaiting_request || now < deadline_) {
        return {};
    }
    return close(Close{CloseReason::timeout, "no request in time", false, std::nullopt}, now);
}

EnrollServerMachine::Actions EnrollServerMachine::on_rate_verdict(RateVerdict verdict, TimePoint now) {
    if (state_ != State::awaiting_verdict) {
        return {};
    }
    if (verdict == RateVerdict::limited) {
        const std::string text = "too many failed enrollment attempts from " + source_ +
                                 "; wait a minute, then try again with a valid token";
        Close close{CloseReason::rate_limited,
                    described(ErrorCode::rate_limited, text),
                    true,
                    ErrorCode::rate_limited};
        return answer(wire::make_error(ErrorCode::rate_limited, text), std::move(close), now);
    }
    if (bad_input_) {
        const EnrollRefusal refusal = std::move(*bad_input_);
        return refuse(refusal, now);
    }
    if (renewal_) {
        if (auto refusal = check_renew_expired_request(*renewal_)) {
            return refuse(*refusal, now);
        }
        RenewExpiredRedeem redeem{std::move(*renewal_)};
        enter(State::awaiting_redeem, now);
        return {std::move(redeem)};
    }
    if (auto refusal = check_enroll_request(*request_)) {
        return refuse(*refusal, now);
    }
    Redeem redeem{std::move(*request_)};
    enter(State::awaiting_redeem, now);
    return {std::move(redeem)};
}

EnrollServerMachine::Actions EnrollServerMachine::on_redeemed(EnrollRedeemed redeemed, TimePoint now) {
    if (state_ != State::awaiting_redeem) {
        return {};
    }
    if (auto* refusal = std::get_if<EnrollRefusal>(&redeemed)) {
        return refuse(*refusal, now);
    }
    if (std::holds_alternative<EnrollStoreUnavailable>(redeemed)) {
        Close close{CloseReason::store_unavailable,
                    described(ErrorCode::unavailable, kStoreUnavailable),
                    true,
                    ErrorCode::unavailable};
        return answer(
            wire::make_error(ErrorCode::unavailable, std::string(kStoreUnavailable)), std::move(close), now);
    }
    auto& granted = std::get<EnrollGranted>(redeemed);
    const wire::EnrollResponse& response = granted.response;
    std::string detail =
        "host " + response.name + " (id " + std::to_string(response.host_id) + ", zone " + response.zone +
        ")" + (granted.re_enrolled ? ", re-enrolled" : "") +
        (granted.renewed_serial.empty() ? ""
                                        : ", expired certificate " + granted.renewed_serial + " renewed");
    Close close{CloseReason::enrolled, std::move(detail), true, std::nullopt};
    return answer(std::move(granted.response), std::move(close), now);
}

EnrollServerMachine::Actions EnrollServerMachine::refuse(const EnrollRefusal& refusal, TimePoint now) {
    Close close{CloseReason::refused, described(refusal.code, refusal.text), true, refusal.code};
    return answer(wire::make_error(refusal.code, refusal.text), std::move(close), now);
}

EnrollServerMachine::Actions EnrollServerMachine::answer(wire::Message message, Close close, TimePoint now) {
    Actions actions{Send{std::move(message)}};
    for (auto& action : this->close(std::move(close), now)) {
        actions.push_back(std::move(action));
    }
    return actions;
}

EnrollServerMachine::Actions EnrollServerMachine::close(Close close, TimePoint now) {
    enter(State::closed, now);
    return {std::move(close)};
}

std::string_view enroll_result_label(const EnrollServerMachine::Close& close) noexcept {
    using Reason = EnrollServerMachine::CloseReason;
    switch (close.reason) {
        case Reason::enrolled:
            return "ok";
        case Reason::rate_limited:
            return "rate_limited";
        case Reason::store_unavailable:
            return "store_error";
        case Reason::timeout:
            return "timeout";
        case Reason::peer_closed:
            return "closed";
        case Reason::refused:
            break;
    }
    switch (close.code.value_or(ErrorCode::enrollment_refused)) {
        case ErrorCode::bad_request:
            return "bad_request";
        case ErrorCode::bad_csr:
            return "bad_csr";
        case ErrorCode::rate_limited:
            return "rate_limited";
        case ErrorCode::unavailable:
            return "store_error";
        default:
            return "refused";  // enrollment_refused, invalid_token
    }
}

bool counts_against_peer(const EnrollServerMachine::Close& close) noexcept {
    return close.reason == EnrollServerMachine::CloseReason::refused;
}

}  // namespace agentlb::protocol
