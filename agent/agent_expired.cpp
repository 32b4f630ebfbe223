// Agent: an expired certificate. The agent port refuses it for good, so the
// agent asks the servers' enrollment ports for a new one (renew_expired,
// within the grace period the servers allow), over the same list and with
// the same backoff as its connection loop, until one answers or the
// operator gives it a new certificate. Nothing is written until a new
// certificate is checked.

#include "agent/agent.hpp"
#include "agent/enrollment.hpp"
#include "agent/printable.hpp"
#include "certs/fingerprint.hpp"
#include "certs/inspect.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "common/lb/endpoint.hpp"
#include "common/protocol/connection_policy.hpp"
#include "common/tls/context.hpp"
#include "common/util/bounded_join.hpp"
#include "common/util/clock.hpp"
#include "common/util/rfc3339.hpp"
#include "common/util/text.hpp"

#include <boost/asio/this_coro.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace agentlb::agent {

namespace asio = boost::asio;

namespace {

// Each server of the list at its enrollment port, then the one the command
// line names (a service manager keeps the enrolment flags), without repeats.
std::vector<lb::Endpoint> enrollment_ports(const std::vector<std::string>& candidates,
                                           std::uint16_t enroll_port,
                                           const std::optional<EnrollOptions>& enroll) {
    std::vector<lb::Endpoint> out;
    const auto add = [&out](lb::Endpoint endpoint) {
        const auto key = lb::identity_key(endpoint);
        if (std::none_of(out.begin(), out.end(), [&key](const lb::Endpoint& e) {
                return lb::identity_key(e) == key;
            })) {
            out.push_back(std::move(endpoint));
        }
    };
    for (const auto& entry : candidates) {
        if (auto endpoint = lb::parse_endpoint(entry)) {
            add(lb::Endpoint{endpoint->host, enroll_port});
        }
    }
    if (enroll) {
        add(enroll->endpoint);
    }
    return out;
}

}  // namespace

bool Agent::certificate_expired() const {
    return credentials_.certificate && certs::not_after_of(credentials_.certificate.get()) < util::unix_now();
}

asio::awaitable<void> Agent::renew_expired_certificate() {
    const std::int64_t not_after = certs::not_after_of(credentials_.certificate.get());
    spdlog::warn(
        "certificate serial {} expired on {}: the servers refuse it; asking their enrollment ports to renew "
        "it (renew_expired)",
        certs::serial_of(credentials_.certificate.get()),
        util::format_rfc3339(not_after));
    auto fingerprint = certs::fingerprint_of_pem(credentials_.ca_pem);
    if (!fingerprint) {
        spdlog::error("cannot renew the expired certificate: the CA file {}: {}",
                      printable_path(settings_.ca_file),
                      fingerprint.error());
        co_await sleep(retry_timer_, policy_.pass_failed(random_()));
        co_return;
    }
    auto context = tls::make_enroll_client_context(*fingerprint);
    if (!context) {
        spdlog::error("cannot renew the expired certificate: {}", context.error());
        co_await sleep(retry_timer_, policy_.pass_failed(random_()));
        co_return;
    }
    auto executor = co_await asio::this_coro::executor;
    // Stops once a certificate is no longer expired: renewed here, or put in
    // place by the operator and loaded by SIGHUP.
    while (!stopping_ && certificate_expired()) {
        const auto servers = enrollment_ports(policy_.candidates(), settings_.enroll_port, options_.enroll);
        std::vector<std::string> failures;
        for (const auto& server : servers) {
            if (stopping_ || !certificate_expired()) {
                co_return;
            }
            auto key = certs::generate_p256_key();
            if (!key) {
                spdlog::error("cannot make a key: {}", key.error());
                break;
            }
            auto csr = certs::make_csr_pem(key->get(), identity_name());
            if (!csr) {
                spdlog::error("cannot make a certificate request: {}", csr.error());
                break;
            }
            const std::string key_pem = certs::private_key_to_pem(key->get());
            EnrollRequestBuilder build =
                [cert = credentials_.cert_pem, old_key = credentials_.key_pem, csr = *csr](SSL* ssl) {
                    return make_renew_expired(ssl, cert, old_key, csr);
                };
            const std::string where = lb::to_string(server);
            auto attempt = co_await attempt_enroll_exchange(
                executor, context->get(), server, std::move(build), timeouts_.connect, timeouts_.welcome);
            if (stopping_) {
                co_return;
            }
            if (!attempt.response) {
                if (attempt.refused) {
                    // The operator's answer (grace over, revoked, ...): say it every time.
                    spdlog::warn("renewing the expired certificate at {}: {}", where, attempt.reason);
                } else {
                    spdlog::debug("renewing the expired certificate at {}: {}", where, attempt.reason);
                }
                failures.push_back(where + ": " + attempt.reason);
                continue;
            }
            if (co_await adopt_renewed_expired(*attempt.response, key_pem, *fingerprint, where)) {
                co_return;
            }
            failures.push_back(where + ": the answer was refused");
        }
        if (stopping_ || !certificate_expired()) {
            break;
        }
        const auto wait = policy_.pass_failed(random_());
        spdlog::warn("the expired certificate was not renewed ({}); trying again in {} ms",
                     servers.empty()
                         ? std::string("no server in host= of ") + printable_path(options_.config_path)
                         : util::join_bounded(failures, "; "),
                     wait.count());
        co_await sleep(retry_timer_, wait);
    }
}

asio::awaitable<bool> Agent::adopt_renewed_expired(const wire::EnrollResponse& response,
                                                   const std::string& key_pem,
                                                   const std::string& ca_fingerprint,
                                                   const std::string& where) {
    auto checked = check_enrollment_response(response, key_pem, ca_fingerprint);
    if (checked && response.name != identity_name()) {
        checked = fail("the certificate is for " + util::peer_text(response.name) + ", not " +
                       util::peer_text(identity_name()));
    }
    if (!checked) {
        spdlog::error(
            "refused the renewed certificate from {}: {}; keeping the expired one", where, checked.error());
        co_return false;
    }
    Credentials renewed;
    renewed.key_pem = key_pem;
    // The leaf, then (an imported CA) what links it to the root: one file, as at enrollment.
    renewed.cert_pem = response.certificate + response.chain;
    renewed.ca_pem = credentials_.ca_pem;
    auto parsed = certs::parse_certificate_pem(renewed.cert_pem);
    if (!parsed) {
        co_return false;  // checked above: not reached
    }
    renewed.certificate = std::move(*parsed);
    const AgentSettings paths = settings_;
    std::function<Status()> job = [paths, key_pem, cert = renewed.cert_pem, ca = renewed.ca_pem] {
        return store_renewed(paths, key_pem, cert, ca);
    };
    auto stored = co_await worker_.run(std::move(job));
    if (!stored) {
        spdlog::error("cannot store the renewed certificate, keeping the expired one: {}", stored.error());
        co_return false;
    }
    credentials_ = std::move(renewed);
    metrics_changed();
    if (auto built = rebuild_client_context(); !built) {
        spdlog::error("renewed certificate stored, but unusable: {}", built.error());
        co_return false;
    }
    if (settings_.id && *settings_.id != response.host_id) {
        spdlog::warn("{} renewed the certificate for host id {}, but {} names id {}",
                     where,
                     response.host_id,
                     printable_path(options_.config_path),
                     *settings_.id);
    }
    spdlog::info("renewed the expired certificate at {}: serial {}, valid until {} (host id {})",
                 where,
                 certs::serial_of(credentials_.certificate.get()),
                 util::format_rfc3339(certs::not_after_of(credentials_.certificate.get())),
                 response.host_id);
    co_return true;
}

}  // namespace agentlb::agent
