#include "mgmt/server_renewal.hpp"

#include "certs/inspect.hpp"
#include "common/util/clock.hpp"
#include "common/util/rfc3339.hpp"
#include "mgmt/process_setup.hpp"
#include "mgmt/server_certificate_record.hpp"
#include "mgmt/shared_state.hpp"
#include "mgmt/tick_loop.hpp"
#include "mgmt/tls_contexts.hpp"

#include <boost/asio/post.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace agentlb::mgmt {

namespace asio = boost::asio;

namespace {

// Cheap (a few comparisons), so a one-minute certificate renews on time.
constexpr std::chrono::milliseconds kTick{1000};
// After a failed renewal (the CA refused, a file could not be written).
constexpr std::int64_t kRetrySeconds = 30;
constexpr std::int64_t kWarningLogSeconds = 3600;
constexpr std::int64_t kCountSeconds = 60;
constexpr std::int64_t kExpiringWithin = 30 * 86400;

std::string expiry_text(std::string_view what, std::int64_t not_after, std::int64_t now) {
    if (not_after <= now) {
        return fmt::format("{} expired on {}", what, util::format_rfc3339(not_after));
    }
    // No "in N days": the text stays the same from one tick to the next.
    return fmt::format("{} expires on {}", what, util::format_rfc3339(not_after));
}

}  // namespace

ServerCredentials start_server_certificate(StoreWorker& store,
                                           const certs::CertificateAuthority& ca,
                                           const std::string& state_dir,
                                           const std::string& name,
                                           const std::string& advertise_host) {
    // The certificate settings' global values (the server's own validity, key type, fraction).
    const auto settings = store.call_sync(
        [](store::Store& s) { return lb::certificate_settings_from_config(s.scoped_config().global); });
    const auto policy = server_policy_of(settings ? *settings : lb::CertificateSettings{});
    auto credentials =
        start_value(ensure_server_certificate(ca, state_dir, name, advertise_host, util::unix_now(), policy),
                    "server certificate");
    spdlog::info("{} this server's certificate {} (serial {})",
                 credentials.reused ? "using" : "issued",
                 credentials.certificate_path.string(),
                 credentials.serial);
    // Recorded (once per serial) so `agentlbctl cert list` and revocation see it.
    const auto recorded = start_value(
        server_certificate_record(credentials.certificate_pem, ca.fingerprint()), "server certificate");
    store.call_sync([&](store::Store& s) { s.record_server_certificate(name, recorded); });
    return credentials;
}

std::vector<std::string> certificate_expiry_warnings(std::int64_t server_not_after,
                                                     std::int64_t ca_not_after,
                                                     std::chrono::seconds alert_period,
                                                     std::int64_t now) {
    std::vector<std::string> warnings;
    if (alert_period.count() <= 0) {
        return warnings;
    }
    if (server_not_after > 0 && server_not_after - now <= alert_period.count()) {
        warnings.push_back(expiry_text("this server's certificate", server_not_after, now));
    }
    if (ca_not_after > 0 && ca_not_after - now <= alert_period.count()) {
        warnings.push_back(expiry_text("the CA certificate", ca_not_after, now));
    }
    return warnings;
}

ServerRenewal::ServerRenewal(asio::io_context& context,
                             std::shared_ptr<SharedState> state,
                             std::string advertise_host)
    : context_(context),
      state_(std::move(state)),
      advertise_host_(std::move(advertise_host)),
      timer_(context) {}

void ServerRenewal::start() {
    state_->metrics.ca_not_after.store(certs::not_after_of(state_->ca.issuer()->certificate()));
    if (auto tls = state_->tls.current()) {
        state_->metrics.server_certificate_not_after.store(tls->not_after);
    }
    spawn_loop(context_, "server certificate renewal", [self = shared_from_this()] { return self->loop(); });
}

void ServerRenewal::stop() {
    asio::post(context_, [self = shared_from_this()] {
        self->stopped_ = true;
        self->timer_.cancel();
    });
}

asio::awaitable<void> ServerRenewal::loop() {
    for (;;) {
        const bool go_on = co_await next_tick(timer_, kTick, stopped_);
        if (!go_on) {
            break;
        }
        const auto now = util::unix_now();
        tick(now);
        if (unrecorded_) {
            co_await record_renewed();
        }
        if (now >= next_count_) {
            next_count_ = now + kCountSeconds;
            co_await count_expiring(now);
        }
    }
}

asio::awaitable<void> ServerRenewal::record_renewed() {
    auto job = [name = state_->options.name, record = *unrecorded_](store::Store& store) {
        store.record_server_certificate(name, record);
    };
    try {
        co_await state_->store.call(std::move(job));
        unrecorded_.reset();
    } catch (const std::exception& e) {
        // Retried each second; said once, at debug after that.
        spdlog::log(next_record_log_ ? spdlog::level::debug : spdlog::level::warn,
                    "cannot record this server's renewed certificate in the store (trying again): {}",
                    e.what());
        next_record_log_ = true;
    }
}

asio::awaitable<void> ServerRenewal::count_expiring(std::int64_t now) {
    auto job = [now](store::Store& store) {
        return store.count_certificates("agent", now + kExpiringWithin, now);
    };
    try {
        const auto count = co_await state_->store.call(std::move(job));
        state_->metrics.agent_certificates_expiring_30d.store(count);
    } catch (const std::exception& e) {
        // The gauge keeps its last value; the store's own trouble is logged by the watcher.
        spdlog::debug("cannot count the agent certificates expiring within 30 days: {}", e.what());
    }
}

void ServerRenewal::tick(std::int64_t now) {
    const auto tls = state_->tls.current();
    if (!tls || state_->stopping.load()) {
        return;
    }
    const auto snapshot = state_->snapshot();
    const lb::CertificateSettings& settings = snapshot->certificates;
    // A revoked serial is refused by every server's agents' peers (and by the
    // operator's intent): renew at once, whatever the automatic setting says.
    if (state_->revoked->is_revoked(tls->serial)) {
        if (now >= retry_at_) {
            renew("its serial is revoked", now);
        }
    } else if (tls->issuer_fingerprint != state_->ca.fingerprint()) {
        // A CA rotation: this server now issues from the new CA
        // (ca_set.hpp); its own certificate follows at once.
        if (now >= retry_at_) {
            renew("the CA was rotated", now);
        }
    } else if (settings.automatic_renewal &&
               now >= certs::renewal_time(tls->not_before, tls->not_after, settings.renewal_permille) &&
               now >= retry_at_) {
        renew("its renewal point has passed", now);
    }
    warn(now);
}

void ServerRenewal::renew(const char* why, std::int64_t now) {
    const auto snapshot = state_->snapshot();
    const ServerCertificatePolicy policy = server_policy_of(snapshot->certificates);
    const auto& options = state_->options;
    const auto cas = state_->ca.view();
    auto credentials =
        issue_server_certificate(*cas->issuer, options.state_dir, options.name, advertise_host_, policy);
    if (!credentials) {
        state_->metrics.count_renewal(RenewalKind::server, RenewalResult::failed);
        retry_at_ = now + kRetrySeconds;
        spdlog::error("cannot renew this server's certificate ({}): {}; trying again in {} s",
                      why,
                      credentials.error(),
                      kRetrySeconds);
        return;
    }
    auto tls = make_server_tls(*credentials, cas->issuer_fingerprint, *cas, state_->revoked, state_->ticket_keys);
    if (!tls) {
        state_->metrics.count_renewal(RenewalKind::server, RenewalResult::failed);
        retry_at_ = now + kRetrySeconds;
        spdlog::error("renewed this server's certificate ({}), but cannot use it: {}; trying again in {} s",
                      why,
                      tls.error(),
                      kRetrySeconds);
        return;
    }
    state_->tls.install(*tls);
    if (auto record = server_certificate_record(credentials->certificate_pem, cas->issuer_fingerprint)) {
        record->issued_at = now;
        unrecorded_ = std::move(record).value();
        next_record_log_ = false;
    }
    state_->metrics.server_certificate_not_after.store((*tls)->not_after);
    state_->metrics.ca_not_after.store(certs::not_after_of(cas->issuer->certificate()));
    state_->metrics.count_renewal(RenewalKind::server, RenewalResult::ok);
    retry_at_ = 0;
    spdlog::info(
        "renewed this server's certificate ({}): serial {}, {} key, valid until {}, written to {}; new "
        "connections use it, the {} open sessions keep theirs",
        why,
        (*tls)->serial,
        certs::to_string(policy.key_type),
        util::format_rfc3339((*tls)->not_after),
        credentials->certificate_path.string(),
        state_->registry.session_count());
}

void ServerRenewal::warn(std::int64_t now) {
    const auto tls = state_->tls.current();
    const auto snapshot = state_->snapshot();
    auto warnings = certificate_expiry_warnings(tls ? tls->not_after : 0,
                                                state_->metrics.ca_not_after.load(),
                                                snapshot->certificates.expiry_alert_period,
                                                now);
    // Said when it starts or changes (a renewal), then once an hour.
    if (!warnings.empty() && (warnings != last_warnings_ || now >= next_warning_log_)) {
        for (const auto& warning : warnings) {
            spdlog::warn("{} (ca.framework.cert.expiry.alert.period is {})",
                         warning,
                         lb::describe_duration(snapshot->certificates.expiry_alert_period));
        }
        next_warning_log_ = now + kWarningLogSeconds;
    }
    if (warnings != last_warnings_) {
        last_warnings_ = warnings;
        state_->certificate_warnings.set(std::move(warnings));
    }
}

}  // namespace agentlb::mgmt
