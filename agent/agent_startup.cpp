// Agent start-up: enrolment when there is no certificate yet, then loading the
// credentials and building the client TLS context.

#include "agent/agent.hpp"
#include "agent/agent_internal.hpp"
#include "agent/enrollment.hpp"
#include "agent/printable.hpp"
#include "certs/ca_chain.hpp"
#include "certs/inspect.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "common/tls/client_tickets.hpp"
#include "common/tls/context.hpp"
#include "common/util/rfc3339.hpp"
#include "common/util/text.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

#include <spdlog/spdlog.h>

namespace agentlb::agent {

namespace asio = boost::asio;

asio::awaitable<void> Agent::run() {
    // First: a bad path is the operator's to fix before anything else happens.
    if (options_.app_socket) {
        app_link_ = std::make_unique<AppLink>(io_.get_executor(), [this] { return identity_name(); });
        if (auto opened = app_link_->open(*options_.app_socket, options_.app_socket_group); !opened) {
            stop(kExitUsage, opened.error());
            co_return;
        }
    }
    if (!certificate_exists(settings_)) {
        if (!options_.enroll) {
            stop(kExitUsage,
                 "no certificate at " + printable_path(settings_.cert_file) +
                     ": this host is not enrolled. Create a token on a management server (agentlbctl token "
                     "create) and start once with --enroll-server HOST:8251 --enroll-token TOKEN "
                     "--ca-fingerprint sha256:HEX");
            co_return;
        }
        if (!co_await enroll()) {
            co_return;
        }
    } else if (options_.enroll) {
        spdlog::info("certificate {} exists: ignoring the enrolment options",
                     printable_path(settings_.cert_file));
    }
    if (stopping_ || !co_await load_credentials_and_context()) {
        co_return;
    }
    running_ = true;
    asio::co_spawn(
        io_, preferred_loop(), [](std::exception_ptr ep) { detail::log_exception(ep, "preferred check"); });
    asio::co_spawn(
        io_, renewal_loop(), [](std::exception_ptr ep) { detail::log_exception(ep, "renewal check"); });
    co_await connection_loop();
}

asio::awaitable<bool> Agent::enroll() {
    const EnrollOptions& server = *options_.enroll;
    const std::string name = options_.name;
    spdlog::info("no certificate at {}: enrolling as {} with {}",
                 printable_path(settings_.cert_file),
                 util::peer_text(name),
                 server.server);

    auto key = certs::generate_p256_key();
    if (!key) {
        stop(kExitFailure, "cannot make a key: " + key.error());
        co_return false;
    }
    auto csr = certs::make_csr_pem(key->get(), name);
    if (!csr) {
        stop(kExitFailure, "cannot make a certificate request: " + csr.error());
        co_return false;
    }
    const std::string key_pem = certs::private_key_to_pem(key->get());
    auto context = tls::make_enroll_client_context(server.ca_fingerprint);
    if (!context) {
        stop(kExitUsage, context.error());
        co_return false;
    }

    const wire::EnrollRequest request{server.token, *csr, name, options_.zone};
    Backoff backoff(detail::backoff_from(options_.tuning));
    auto executor = co_await asio::this_coro::executor;
    while (!stopping_) {
        auto attempt = co_await attempt_enrollment(
            executor, context->get(), server, request, timeouts_.connect, timeouts_.welcome);
        if (stopping_) {
            co_return false;
        }
        if (attempt.response) {
            const wire::EnrollResponse response = std::move(*attempt.response);
            if (auto checked = check_enrollment_response(response, key_pem, server.ca_fingerprint);
                !checked) {
                stop(kExitFailure, "enrolment failed: " + checked.error());
                co_return false;
            }
            std::function<Result<AgentSettings>()> job =
                [this, response, key_pem]() -> Result<AgentSettings> {
                if (auto stored = store_enrollment(*state_, response, key_pem); !stored) {
                    return fail(stored.error());
                }
                return state_->settings();
            };
            auto stored = co_await worker_.run(std::move(job));
            if (!stored) {
                stop(kExitFailure, "enrolled, but cannot store the result: " + stored.error());
                co_return false;
            }
            settings_ = std::move(*stored);
            policy_from_settings();
            spdlog::info("enrolled as {} (host id {}, zone {}); servers {}",
                         util::peer_text(response.name),
                         response.host_id,
                         util::peer_text(response.zone),
                         detail::describe_list(settings_.hosts, settings_.algorithm));
            co_return true;
        }
        if (attempt.final) {
            stop(kExitFailure, "enrolment failed: " + attempt.reason);
            co_return false;
        }
        const auto wait = backoff.next(random_());
        spdlog::warn(
            "enrolment at {} failed: {}; retrying in {} ms", server.server, attempt.reason, wait.count());
        co_await sleep(retry_timer_, wait);
    }
    co_return false;
}

asio::awaitable<bool> Agent::load_credentials_and_context() {
    std::function<Result<Credentials>()> job = [settings = settings_] { return load_credentials(settings); };
    auto loaded = co_await worker_.run(std::move(job));
    if (!loaded) {
        stop(kExitUsage, loaded.error());
        co_return false;
    }
    credentials_ = std::move(*loaded);
    if (auto built = rebuild_client_context(); !built) {
        stop(kExitUsage, built.error());
        co_return false;
    }
    spdlog::info("agentlb-agent {} for {} ({}): certificate serial {} valid until {}; servers {}",
                 AGENTLB_VERSION,
                 util::peer_text(identity_name()),
                 settings_.zone.empty() ? "no zone" : "zone " + util::peer_text(settings_.zone),
                 certs::serial_of(credentials_.certificate.get()),
                 util::format_rfc3339(certs::not_after_of(credentials_.certificate.get())),
                 detail::describe_list(settings_.hosts, settings_.algorithm));
    co_return true;
}

Result<std::shared_ptr<SSL_CTX>> detail::client_context_for(const Credentials& credentials) {
    // The certificate file holds the leaf, then (an imported CA) the CAs
    // that link it to the organisation's root: sent after the leaf.
    auto chain = certs::pem_after_first(credentials.cert_pem);
    if (!chain) {
        return fail("certificate: " + chain.error());
    }
    auto context = tls::make_agent_client_context(
        {credentials.ca_pem, credentials.cert_pem, credentials.key_pem, std::move(chain).value()});
    if (!context) {
        return fail(context.error());
    }
    // The ticket hangs on this context: new credentials (a new context)
    // start without one.
    if (auto kept = tls::keep_client_tickets(context->get()); !kept) {
        return fail(kept.error());
    }
    return std::shared_ptr<SSL_CTX>(context->release(), tls::SslCtxDeleter{});
}

Status Agent::rebuild_client_context() {
    auto context = detail::client_context_for(credentials_);
    if (!context) {
        return fail(context.error());
    }
    client_context_ = std::move(context).value();
    return success();
}

std::string Agent::identity_name() const {
    if (credentials_.certificate) {
        std::string cn = certs::common_name_of(credentials_.certificate.get());
        if (!cn.empty()) {
            return cn;
        }
    }
    return settings_.name.empty() ? options_.name : settings_.name;
}

}  // namespace agentlb::agent
