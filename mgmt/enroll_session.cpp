#include "mgmt/enroll_session.hpp"

#include "common/tls/channel_binding.hpp"
#include "common/util/clock.hpp"
#include "common/util/exception_text.hpp"
#include "common/util/text.hpp"
#include "common/wire/frame.hpp"
#include "mgmt/enroll_request.hpp"
#include "mgmt/expired_renewal.hpp"
#include "mgmt/handshake_refusal.hpp"
#include "mgmt/peer_address.hpp"
#include "mgmt/shared_state.hpp"

#include <boost/asio/co_spawn.hpp>

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <array>
#include <iterator>

namespace agentlb::mgmt {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = protocol::Clock;

namespace {

std::string source_of(const asio::ip::tcp::socket& socket) {
    error_code ec;
    const auto endpoint = socket.remote_endpoint(ec);
    return ec ? std::string("unknown peer") : EnrollRateLimit::source_key(endpoint.address());
}

}  // namespace

std::string enroll_refusal_summary_line(const EnrollRateLimit::Summary& summary) {
    const std::string top = summary.top.empty() ? std::string("evicted") : summary.top;
    return fmt::format(
        "enrollment: {} refused attempts (rate_limited) from {} addresses in the last {} s (top: "
        "{} x{})",
        summary.refused,
        summary.addresses,
        kEnrollRefusalSummaryInterval.count(),
        top,
        summary.top_refused);
}

void log_enroll_refusal_summary(SharedState& state) {
    const auto summary = state.enroll_limit.take_summary(EnrollRateLimit::Clock::now());
    if (summary.refused != 0) {
        spdlog::warn("{}", enroll_refusal_summary_line(summary));
    }
}

EnrollSession::EnrollSession(asio::ip::tcp::socket socket, std::shared_ptr<SharedState> state)
    : state_(std::move(state)),
      peer_(peer_address(socket)),
      source_(source_of(socket)),
      stream_(std::move(socket), state_->tls.current()->enroll.get(), tls::Role::server),
      deadline_(stream_),
      machine_(state_->options.handshake_timeout, source_) {}

void EnrollSession::start() {
    auto self = shared_from_this();
    asio::co_spawn(
        stream_.get_executor(),
        [self] { return self->run(); },
        [](std::exception_ptr e) {
            if (auto text = util::exception_text(e)) {
                spdlog::error("enrollment session: {}", *text);
            }
        });
}

asio::awaitable<void> EnrollSession::run() {
    const bool secured = co_await handshake();
    if (!secured) {
        stream_.close();
        co_return;
    }
    Machine::Actions next_actions = machine_.start(Clock::now());
    arm_deadline();
    for (;;) {
        Machine::Actions next;
        if (!next_actions.empty()) {
            Machine::Action action = std::move(next_actions.front());
            next_actions.erase(next_actions.begin());
            next = co_await carry_out(std::move(action));
        } else if (machine_.state() != Machine::State::closed) {
            next = co_await read();
        } else {
            break;
        }
        arm_deadline();
        next_actions.insert(
            next_actions.end(), std::make_move_iterator(next.begin()), std::make_move_iterator(next.end()));
    }
    deadline_.cancel();
    stream_.close();
}

asio::awaitable<bool> EnrollSession::handshake() {
    deadline_.expires_after(state_->options.handshake_timeout);
    const error_code ec = co_await stream_.handshake();
    const bool timed_out = deadline_.expired();
    deadline_.cancel();
    if (!ec) {
        // Empty when it cannot be derived: a renew_expired is then refused, an enroll unaffected.
        auto exporter = tls::renew_expired_exporter(stream_.native_handle());
        exporter_ = exporter ? std::move(*exporter) : std::string();
        co_return true;
    }
    const auto detail = stream_.last_error_detail().empty() ? ec.message() : stream_.last_error_detail();
    const auto reason =
        classify_handshake_failure(ec, SSL_get_verify_result(stream_.native_handle()), timed_out);
    // The port's label is coarser than the handshake's reason: timeout or tls_error.
    state_->metrics.count_enrollment(timed_out ? "timeout" : "tls_error");
    spdlog::warn("enrollment from {} refused: {}: {}", peer_, reason, util::peer_text(detail, 256));
    co_return false;
}

void EnrollSession::arm_deadline() {
    const auto deadline = machine_.deadline();
    if (deadline == protocol::TimePoint::max()) {
        deadline_.cancel();
    } else {
        deadline_.expires_after(deadline - Clock::now());
    }
}

asio::awaitable<EnrollSession::Machine::Actions> EnrollSession::read() {
    // One short exchange per connection: a session-owned buffer is fine here.
    std::array<char, 4096> buffer;
    error_code ec;
    const auto n = co_await stream_.read_some(buffer.data(), buffer.size(), ec);
    const auto now = Clock::now();
    if (!ec) {
        co_return machine_.on_bytes(buffer.data(), n, now);
    }
    if (deadline_.expired()) {
        // The deadline closed the stream to end the read.
        auto timed_out = machine_.on_timer(now);
        if (!timed_out.empty()) {
            co_return timed_out;
        }
    }
    co_return machine_.on_closed(ec.message(), now);
}

asio::awaitable<EnrollSession::Machine::Actions> EnrollSession::carry_out(Machine::Action action) {
    if (auto* send = std::get_if<Machine::Send>(&action)) {
        answer_ = std::move(send->message);
    } else if (std::holds_alternative<Machine::CheckRateLimit>(action)) {
        co_return check_rate_limit();
    } else if (auto* redeem_action = std::get_if<Machine::Redeem>(&action)) {
        wire::EnrollRequest request = std::move(redeem_action->request);
        co_return co_await redeem(std::move(request));
    } else if (auto* renew_action = std::get_if<Machine::RenewExpiredRedeem>(&action)) {
        wire::RenewExpired request = std::move(renew_action->request);
        co_return co_await renew_expired(std::move(request));
    } else if (auto* close = std::get_if<Machine::Close>(&action)) {
        account(*close);
        if (close->flush_first) {
            co_await flush();
        }
    }
    co_return Machine::Actions{};
}

EnrollSession::Machine::Actions EnrollSession::check_rate_limit() {
    const auto verdict = state_->enroll_limit.check(source_, EnrollRateLimit::Clock::now());
    if (verdict == EnrollRateLimit::Verdict::refused_first) {
        const auto& limits = state_->enroll_limit.limits();
        spdlog::warn(
            "enrollment from {} refused: rate_limited: {} failed attempts from {} within {} s; further "
            "refusals are summed up every {} s",
            peer_,
            limits.max_failures,
            source_,
            limits.window.count(),
            kEnrollRefusalSummaryInterval.count());
    }
    const auto allowed = verdict == EnrollRateLimit::Verdict::allowed ? Machine::RateVerdict::allowed
                                                                      : Machine::RateVerdict::limited;
    return machine_.on_rate_verdict(allowed, Clock::now());
}

asio::awaitable<EnrollSession::Machine::Actions> EnrollSession::redeem(wire::EnrollRequest request) {
    protocol::EnrollRedeemed redeemed;
    // Cheap checks here: garbage never queues on the store thread.
    if (auto refused = check_enroll_csr(request)) {
        redeemed = std::move(*refused);
    } else {
        auto job = [state = state_, request](store::Store& store) {
            const auto snapshot = state->snapshot();
            return redeem_enroll_request(request, store, state->ca, *snapshot, util::unix_now());
        };
        try {
            redeemed = co_await state_->store.call(std::move(job));
        } catch (const std::exception& e) {
            // The worker itself failed (redeem_enroll_request catches the store's errors).
            redeemed = protocol::EnrollStoreUnavailable{e.what()};
        }
    }
    if (const auto* failed = std::get_if<protocol::EnrollStoreUnavailable>(&redeemed)) {
        spdlog::log(store_failure_level(state_->store_health),
                    "enrollment from {}: store failure: {}",
                    peer_,
                    failed->failure);
    }
    co_return machine_.on_redeemed(std::move(redeemed), Clock::now());
}

asio::awaitable<EnrollSession::Machine::Actions> EnrollSession::renew_expired(wire::RenewExpired request) {
    protocol::EnrollRedeemed redeemed;
    // OpenSSL's checks here (signature included): a forged request never queues on the store thread.
    auto checked = check_expired_certificate(request, state_->ca, exporter_, util::unix_now());
    if (auto* refused = std::get_if<protocol::EnrollRefusal>(&checked)) {
        redeemed = std::move(*refused);
    } else {
        const ExpiredCertificate expired = std::get<ExpiredCertificate>(std::move(checked));
        auto job = [state = state_, request, expired](store::Store& store) {
            const auto snapshot = state->snapshot();
            return redeem_expired_certificate(
                request, expired, store, state->ca, *snapshot, util::unix_now());
        };
        try {
            redeemed = co_await state_->store.call(std::move(job));
        } catch (const std::exception& e) {
            redeemed = protocol::EnrollStoreUnavailable{e.what()};
        }
    }
    if (const auto* granted = std::get_if<protocol::EnrollGranted>(&redeemed)) {
        // Ahead of the next refresh from the store.
        state_->revoked->add(granted->renewed_serial);
    }
    if (const auto* failed = std::get_if<protocol::EnrollStoreUnavailable>(&redeemed)) {
        spdlog::log(store_failure_level(state_->store_health),
                    "renewal of an expired certificate from {}: store failure: {}",
                    peer_,
                    failed->failure);
    }
    co_return machine_.on_redeemed(std::move(redeemed), Clock::now());
}

void EnrollSession::account(const Machine::Close& close) {
    using Reason = Machine::CloseReason;
    state_->metrics.count_enrollment(protocol::enroll_result_label(close));
    if (protocol::counts_against_peer(close)) {
        state_->enroll_limit.record_failure(source_, EnrollRateLimit::Clock::now());
    }
    switch (close.reason) {
        case Reason::enrolled:
            spdlog::info("enrolled {} from {}", close.detail, peer_);
            break;
        case Reason::refused:
        case Reason::store_unavailable:
            spdlog::warn("enrollment from {} refused: {}", peer_, close.detail);
            break;
        case Reason::rate_limited:
            break;  // logged once by check_rate_limit(), then summed up
        case Reason::timeout:
        case Reason::peer_closed:
            spdlog::warn("enrollment from {} abandoned: {}", peer_, close.detail);
            break;
    }
}

asio::awaitable<void> EnrollSession::flush() {
    if (!answer_) {
        co_return;
    }
    auto frame = wire::encode_frame(wire::encode_message(*answer_));
    if (!frame) {
        spdlog::error("enrollment from {}: cannot frame the answer: {}", peer_, frame.error());
        co_return;
    }
    deadline_.expires_after(state_->options.handshake_timeout);
    const error_code ec = co_await stream_.write_all(frame->data(), frame->size());
    if (ec) {
        spdlog::debug("enrollment from {}: answer not delivered: {}", peer_, ec.message());
        co_return;
    }
    co_await stream_.shutdown();
}

}  // namespace agentlb::mgmt
