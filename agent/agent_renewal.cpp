// Agent: certificate renewal over the session (new key, CSR, and storing the
// certificate the server sends back).

#include "agent/agent.hpp"
#include "agent/printable.hpp"
#include "agent/renewal_check.hpp"
#include "certs/inspect.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "common/util/clock.hpp"
#include "common/util/rfc3339.hpp"

#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

namespace agentlb::agent {

namespace asio = boost::asio;

namespace {

// A renewal request without an answer is sent again after this long.
constexpr std::chrono::seconds kRenewalRetry{60};

}  // namespace

asio::awaitable<void> Agent::renewal_loop() {
    while (!stopping_) {
        co_await sleep(renewal_timer_, options_.tuning.renewal_check_interval);
        if (!stopping_) {
            check_renewal();
        }
    }
}

void Agent::check_renewal(bool now_asked) {
    if (!current_ || !credentials_.certificate) {
        return;
    }
    const auto decision = decide_renewal(credentials_.certificate.get(), renewal_policy_, util::unix_now());
    if (!decision.note.empty() && decision.note != renewal_note_) {
        spdlog::warn("renewal policy from the servers: {}", decision.note);
    }
    renewal_note_ = decision.note;
    // A server's `reissue` (a CA rotation) renews now, automatic renewal or not.
    if (!now_asked && !decision.due) {
        if (!decision.automatic && !warned_manual_renewal_ &&
            certs::needs_renewal(credentials_.certificate.get(), util::unix_now())) {
            // Once: the operator chose this (ca.framework.cert.automatic.renewal false).
            spdlog::warn("certificate valid until {}: not renewing, automatic renewal is off on the servers",
                         util::format_rfc3339(certs::not_after_of(credentials_.certificate.get())));
            warned_manual_renewal_ = true;
        }
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!pending_key_pem_.empty() && now - pending_since_ < kRenewalRetry) {
        return;
    }
    auto key = certs::generate_key(decision.key_type);
    if (!key) {
        spdlog::error("cannot make a key for renewal: {}", key.error());
        return;
    }
    auto csr = certs::make_csr_pem(key->get(), identity_name());
    if (!csr) {
        spdlog::error("cannot make a certificate request for renewal: {}", csr.error());
        return;
    }
    pending_key_pem_ = certs::private_key_to_pem(key->get());
    pending_since_ = now;
    spdlog::info("certificate valid until {}: asking {} for a new one ({} key){}",
                 util::format_rfc3339(certs::not_after_of(credentials_.certificate.get())),
                 current_->entry(),
                 certs::to_string(decision.key_type),
                 now_asked ? " (the server asked for it)" : "");
    current_->renew(*csr);
}

void Agent::set_renewal_policy(const std::optional<wire::Renewal>& policy) {
    if (policy == renewal_policy_) {
        return;
    }
    renewal_policy_ = policy;
    if (policy) {
        spdlog::debug("renewal policy: {} keys, at {}/1000 of the validity, automatic {}",
                      util::peer_text(policy->key_type),
                      policy->fraction_permille,
                      policy->automatic);
    }
    check_renewal();
}

void Agent::on_certificate(const std::shared_ptr<ServerSession>& session, const wire::Certificate& message) {
    if (pending_key_pem_.empty()) {
        spdlog::warn("{} sent a certificate we did not ask for: ignored", session->entry());
        return;
    }
    auto checked = check_renewed_certificate(
        credentials_.ca_pem, pending_key_pem_, identity_name(), message, util::unix_now());
    if (!checked) {
        spdlog::error(
            "refused the renewed certificate from {}: {}; keeping the current key, certificate and CA",
            session->entry(),
            checked.error());
        return;
    }
    if (checked->new_ca) {
        spdlog::warn("{} sent a new CA certificate that our CA vouches for: it is added to {}",
                     session->entry(),
                     printable_path(settings_.ca_file));
    }
    Credentials renewed = std::move(checked->renewed);
    pending_key_pem_.clear();
    auto io = io_.get_executor();
    const AgentSettings paths = settings_;
    worker_.post(io,
                 [this, io, paths, renewed = std::make_shared<Credentials>(std::move(renewed))]() mutable {
                     auto stored = store_renewed(paths, renewed->key_pem, renewed->cert_pem, renewed->ca_pem);
                     asio::post(io, [this, renewed, stored = std::move(stored)]() mutable {
                         if (!stored) {
                             spdlog::error("cannot store the renewed certificate, keeping the old one: {}",
                                           stored.error());
                             return;
                         }
                         credentials_ = std::move(*renewed);
                         metrics_changed();
                         if (auto built = rebuild_client_context(); !built) {
                             spdlog::error("renewed certificate stored, but unusable: {}", built.error());
                             return;
                         }
                         spdlog::info(
                             "stored the renewed certificate (serial {}, valid until {}); used from the next "
                             "connection",
                             certs::serial_of(credentials_.certificate.get()),
                             util::format_rfc3339(certs::not_after_of(credentials_.certificate.get())));
                     });
                 });
}

}  // namespace agentlb::agent
