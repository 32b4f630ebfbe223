#include "mgmt/enroll_session.hpp"

#include "certs/name.hpp"
#include "certs/pem.hpp"
#include "certs/token.hpp"
#include "common/util/exception_text.hpp"
#include "mgmt/handshake_refusal.hpp"
#include "mgmt/log_text.hpp"
#include "mgmt/peer_address.hpp"
#include "mgmt/shared_state.hpp"

#include <boost/asio/co_spawn.hpp>

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <array>

namespace agentlb::mgmt {

namespace asio = boost::asio;
using boost::system::error_code;

EnrollSession::EnrollSession(asio::ip::tcp::socket socket, std::shared_ptr<SharedState> state)
    : state_(std::move(state)),
      peer_(peer_address(socket)),
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

wire::Message EnrollSession::refuse(std::string_view result, std::string code, std::string message) {
    state_->metrics.count_enrollment(result);
    spdlog::warn("enrollment from {} refused: {}: {}", peer_, code, escape_for_log(message, 256));
    return wire::Error{std::move(code), std::move(message)};
}

asio::awaitable<void> EnrollSession::run() {
    deadline_.expires_after(state_->options.handshake_timeout);
    const error_code ec = co_await stream_.handshake();
    if (ec) {
        const bool timed_out = deadline_.expired();
        const auto detail = stream_.last_error_detail().empty() ? ec.message() : stream_.last_error_detail();
        const auto reason =
            classify_handshake_failure(ec, SSL_get_verify_result(stream_.native_handle()), detail, timed_out);
        state_->metrics.count_enrollment(reason == "timeout" ? "timeout" : "tls_error");
        spdlog::warn("enrollment from {} refused: {}: {}", peer_, reason, escape_for_log(detail, 256));
        stream_.close();
        co_return;
    }
    deadline_.expires_after(state_->options.handshake_timeout);
    auto request = co_await read_request();
    if (request) {
        deadline_.cancel();
        auto answer = co_await enroll(*request);
        deadline_.expires_after(state_->options.handshake_timeout);
        co_await reply(answer);
    }
    deadline_.cancel();
    stream_.close();
}

asio::awaitable<std::optional<wire::EnrollRequest>> EnrollSession::read_request() {
    for (;;) {
        error_code ec;
        auto payload = decoder_.next(ec);
        // Every awaited argument is a named local: GCC 12 destroys temporaries
        // inside a co_await expression twice (STYLE.md, "Known traps").
        if (ec) {
            const auto refusal = refuse("bad_request", "bad_request", "bad frame: " + ec.message());
            co_await reply(refusal);
            co_return std::nullopt;
        }
        if (payload) {
            wire::Message message;
            std::string detail;
            ec = wire::decode_message(*payload, message, detail);
            if (ec) {
                auto why = detail.empty() ? ec.message() : std::move(detail);
                const auto refusal = refuse("bad_request", "bad_request", std::move(why));
                co_await reply(refusal);
                co_return std::nullopt;
            }
            if (auto* request = std::get_if<wire::EnrollRequest>(&message)) {
                co_return std::move(*request);
            }
            const auto refusal =
                refuse("bad_request",
                       "bad_request",
                       "expected an enroll message, got '" + std::string(wire::message_type(message)) + "'");
            co_await reply(refusal);
            co_return std::nullopt;
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

asio::awaitable<wire::Message> EnrollSession::enroll(const wire::EnrollRequest& request) {
    if (auto ok = certs::validate_common_name(request.name); !ok) {
        co_return refuse("bad_request", "bad_request", "name: " + ok.error());
    }
    if (!certs::is_well_formed_join_token(request.token)) {
        co_return refuse("refused",
                         "invalid_token",
                         "the join token is malformed (copy it again from `agentlbctl token create`)");
    }
    // A garbage CSR is refused before the token is touched.
    if (auto csr = certs::parse_csr_pem(request.csr); !csr) {
        co_return refuse("bad_csr", "bad_csr", "csr: " + csr.error());
    }

    struct Outcome {
        std::optional<store::Enrollment> enrollment;
        std::string refusal;
        bool bad_csr = false;
        std::vector<std::int64_t> ids;
    };
    auto job = [state = state_, request](store::Store& store) {
        Outcome outcome;
        store::RedeemRequest redeem;
        redeem.token_hash = certs::hash_token(request.token);
        redeem.name = request.name;
        if (!request.zone.empty()) {
            redeem.zone = request.zone;
        }
        redeem.now = unix_now();
        auto issue = [&](const store::HostRecord& host) -> Result<store::IssuedCertificate> {
            certs::IssueOptions options;
            options.kind = certs::CertificateKind::agent;
            options.common_name = host.name;
            auto issued = state->ca.issue(request.csr, options);
            if (!issued) {
                outcome.bad_csr = true;
                return fail(issued.error());
            }
            return store::IssuedCertificate{issued->pem, issued->serial, issued->not_after};
        };
        auto result = store.redeem_token(redeem, issue);
        if (!result) {
            outcome.refusal = result.error();
            return outcome;
        }
        outcome.ids = store.host_ids_in_zone(result->host.zone);
        outcome.enrollment = std::move(result).value();
        return outcome;
    };
    Outcome outcome;
    try {
        outcome = co_await state_->store.call(std::move(job));
    } catch (const std::exception& e) {
        spdlog::error("enrollment from {}: store failure: {}", peer_, e.what());
        co_return refuse("store_error", "unavailable", "the server cannot use its store; try another server");
    }
    if (!outcome.enrollment) {
        if (outcome.bad_csr) {
            co_return refuse("bad_csr", "bad_csr", "csr: " + outcome.refusal);
        }
        co_return refuse("refused", "enrollment_refused", outcome.refusal);
    }
    const auto& enrollment = *outcome.enrollment;
    const auto snapshot = state_->snapshot();
    const auto assignment = compute_assignment(*snapshot, outcome.ids, enrollment.host.id);
    state_->metrics.count_enrollment("ok");
    spdlog::info("enrolled host {} (id {}, zone {}){} from {}",
                 enrollment.host.name,
                 enrollment.host.id,
                 enrollment.host.zone,
                 enrollment.re_enrolled ? ", re-enrolled" : "",
                 peer_);
    wire::EnrollResponse response;
    response.host_id = enrollment.host.id;
    response.name = enrollment.host.name;
    response.zone = enrollment.host.zone;
    response.certificate = enrollment.certificate.pem;
    response.ca = state_->ca.certificate_pem();
    response.list = assignment.list;
    response.algorithm = assignment.algorithm;
    response.interval = assignment.interval;
    co_return response;
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
