#include "mgmt/enroll_session.hpp"

#include "common/util/exception_text.hpp"
#include "mgmt/enroll_rate_limit.hpp"
#include "mgmt/handshake_refusal.hpp"
#include "mgmt/log_text.hpp"
#include "mgmt/peer_address.hpp"
#include "mgmt/shared_state.hpp"

#include <boost/asio/co_spawn.hpp>

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <array>

namespace agentlb::mgmt {

namespace asio = boost::asio;
using boost::system::error_code;

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
      stream_(std::move(socket), state_->enroll_context.get(), tls::Role::server),
      deadline_(stream_) {}

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
    deadline_.expires_after(state_->options.handshake_timeout);
    const error_code ec = co_await stream_.handshake();
    if (ec) {
        const bool timed_out = deadline_.expired();
        const auto detail = stream_.last_error_detail().empty() ? ec.message() : stream_.last_error_detail();
        const auto reason =
            classify_handshake_failure(ec, SSL_get_verify_result(stream_.native_handle()), timed_out);
        state_->metrics.count_enrollment(reason == "timeout" ? "timeout" : "tls_error");
        spdlog::warn("enrollment from {} refused: {}: {}", peer_, reason, escape_for_log(detail, 256));
        stream_.close();
        co_return;
    }
    deadline_.expires_after(state_->options.handshake_timeout);
    auto incoming = co_await read_request();
    if (incoming) {
        // The request is read first even from a limited address: closing on
        // unread bytes would reset the connection and lose the answer.
        const auto verdict = state_->enroll_limit.check(source_, EnrollRateLimit::Clock::now());
        EnrollReply answer;
        if (verdict != EnrollRateLimit::Verdict::allowed) {
            answer = rate_limited(verdict == EnrollRateLimit::Verdict::refused_first);
        } else if (incoming->refusal) {
            answer = std::move(*incoming->refusal);
        } else {
            deadline_.cancel();
            const wire::EnrollRequest& request = *incoming->request;
            answer = co_await enroll(request);
        }
        account(answer);
        deadline_.expires_after(state_->options.handshake_timeout);
        const wire::Message& message = answer.message;
        co_await reply(message);
    }
    deadline_.cancel();
    stream_.close();
}

asio::awaitable<std::optional<EnrollIncoming>> EnrollSession::read_request() {
    for (;;) {
        error_code ec;
        auto payload = decoder_.next(ec);
        if (ec) {
            co_return EnrollIncoming{std::nullopt, refuse_bad_frame(ec)};
        }
        if (payload) {
            co_return decode_enroll_payload(*payload);
        }
        // One short exchange per connection: a session-owned buffer is fine here.
        std::array<char, 4096> buffer;
        const auto n = co_await stream_.read_some(buffer.data(), buffer.size(), ec);
        if (ec) {
            const bool timed_out = deadline_.expired();
            state_->metrics.count_enrollment(timed_out ? "timeout" : "closed");
            spdlog::warn("enrollment from {} abandoned: {}",
                         peer_,
                         timed_out ? std::string("no request in time") : ec.message());
            co_return std::nullopt;
        }
        decoder_.feed(buffer.data(), n);
    }
}

asio::awaitable<EnrollReply> EnrollSession::enroll(const wire::EnrollRequest& request) {
    // Cheap checks here: garbage never queues on the store thread.
    if (auto refused = precheck_enroll_request(request)) {
        co_return std::move(*refused);
    }
    auto job = [state = state_, request](store::Store& store) {
        const auto snapshot = state->snapshot();
        return answer_enroll_request(request, store, state->ca, *snapshot, unix_now());
    };
    EnrollReply reply;
    try {
        reply = co_await state_->store.call(std::move(job));
    } catch (const std::exception& e) {
        // The worker itself failed (answer_enroll_request catches the store's errors).
        reply.message = wire::Error{"unavailable", "the server cannot use its store; try another server"};
        reply.result = "store_error";
        reply.client_fault = false;
        reply.store_failure = e.what();
    }
    co_return reply;
}

EnrollReply EnrollSession::rate_limited(bool first) {
    const auto& limits = state_->enroll_limit.limits();
    if (first) {
        spdlog::warn(
            "enrollment from {} refused: rate_limited: {} failed attempts from {} within {} s; further "
            "refusals are summed up every {} s",
            peer_,
            limits.max_failures,
            source_,
            limits.window.count(),
            kEnrollRefusalSummaryInterval.count());
    }
    EnrollReply reply;
    reply.message = wire::Error{"rate_limited",
                                "too many failed enrollment attempts from " + source_ +
                                    "; wait a minute, then try again with a valid token"};
    reply.result = "rate_limited";
    return reply;
}

void EnrollSession::account(const EnrollReply& answer) {
    state_->metrics.count_enrollment(answer.result);
    if (answer.result == "rate_limited") {
        return;  // logged once by rate_limited(), then summed up
    }
    if (const auto* enrolled = std::get_if<wire::EnrollResponse>(&answer.message)) {
        spdlog::info("enrolled host {} (id {}, zone {}){} from {}",
                     enrolled->name,
                     enrolled->host_id,
                     enrolled->zone,
                     answer.re_enrolled ? ", re-enrolled" : "",
                     peer_);
        return;
    }
    if (!answer.store_failure.empty()) {
        spdlog::error("enrollment from {}: store failure: {}", peer_, answer.store_failure);
    }
    if (answer.client_fault) {
        state_->enroll_limit.record_failure(source_, EnrollRateLimit::Clock::now());
    }
    if (const auto* error = std::get_if<wire::Error>(&answer.message)) {
        spdlog::warn(
            "enrollment from {} refused: {}: {}", peer_, error->code, escape_for_log(error->message, 256));
    }
}

asio::awaitable<void> EnrollSession::reply(const wire::Message& message) {
    auto frame = wire::encode_frame(wire::encode_message(message));
    if (!frame) {
        spdlog::error("enrollment from {}: cannot frame the answer: {}", peer_, frame.error());
        co_return;
    }
    const error_code ec = co_await stream_.write_all(frame->data(), frame->size());
    if (ec) {
        spdlog::debug("enrollment from {}: answer not delivered: {}", peer_, ec.message());
        co_return;
    }
    co_await stream_.shutdown();
}

}  // namespace agentlb::mgmt
