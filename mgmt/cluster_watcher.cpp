#include "mgmt/cluster_watcher.hpp"

#include "common/lb/config_keys.hpp"
#include "common/lb/endpoint.hpp"
#include "common/util/bounded_join.hpp"
#include "common/util/exception_text.hpp"
#include "common/util/text.hpp"
#include "mgmt/agent_session.hpp"
#include "mgmt/reissue_pacer.hpp"
#include "mgmt/server_certificate.hpp"
#include "mgmt/shared_state.hpp"
#include "mgmt/tick_loop.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace agentlb::mgmt {

namespace asio = boost::asio;

struct ClusterWatcher::Loaded {
    std::int64_t generation = 0;
    std::map<std::string, std::string> config;  // the global values (scoped.global)
    lb::ScopedConfig scoped;
    std::vector<store::HostRecord> hosts;
    std::vector<store::ServerRecord> servers;
    std::vector<std::string> revoked;
    std::vector<store::TrustedCa> trusted;
    std::vector<store::ReissueRequest> reissues;  // after the last one seen
    std::chrono::steady_clock::time_point seen_at;
};

namespace {

// Reads the generation first: anything written after it is read too, or
// triggers another reload at the next poll.
auto load_job(std::int64_t known_generation, std::int64_t last_reissue_id) {
    return [known_generation, last_reissue_id](store::Store& store) -> std::optional<ClusterWatcher::Loaded> {
        const auto generation = store.generation();
        if (generation == known_generation) {
            return std::nullopt;
        }
        ClusterWatcher::Loaded loaded;
        loaded.seen_at = std::chrono::steady_clock::now();
        loaded.generation = generation;
        loaded.scoped = store.scoped_config();
        loaded.config = loaded.scoped.global;
        // Names too, not only the ids by zone: a hello is answered from the
        // snapshot while the store cannot be read.
        loaded.hosts = store.list_hosts();
        loaded.servers = store.list_servers();
        loaded.revoked = store.revoked_serials();
        loaded.trusted = store.trusted_cas();
        loaded.reissues = store.reissue_requests_after(last_reissue_id);
        return loaded;
    };
}

}  // namespace

ClusterWatcher::ClusterWatcher(asio::io_context& context,
                               std::shared_ptr<SharedState> state,
                               std::chrono::milliseconds poll_period)
    : context_(context), state_(std::move(state)), timer_(context), poll_period_(poll_period) {}

void ClusterWatcher::load_initial() {
    reissue_ = std::make_shared<ReissuePacer>(context_, state_);
    last_reissue_id_ = state_->store.call_sync([](store::Store& store) { return store.last_reissue_id(); });
    auto loaded = state_->store.call_sync(load_job(generation_, last_reissue_id_));
    if (loaded) {
        install(std::move(*loaded));
    }
}

void ClusterWatcher::start() {
    spawn_loop(context_, "store watcher", [self = shared_from_this()] { return self->poll_loop(); });
}

void ClusterWatcher::stop() {
    if (reissue_) {
        reissue_->stop();
    }
    asio::post(context_, [self = shared_from_this()] {
        self->stopped_ = true;
        self->timer_.cancel();
    });
}

void ClusterWatcher::wake() {
    asio::post(context_, [self = shared_from_this()] {
        self->wake_pending_ = true;
        self->timer_.cancel();
    });
}

asio::awaitable<void> ClusterWatcher::poll_loop() {
    while (!stopped_) {
        if (!wake_pending_) {
            timer_.expires_after(poll_period_);
            boost::system::error_code ec;
            co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        if (stopped_) {
            break;
        }
        // Cleared before the read: a change announced while it runs may
        // not be in it, so its wake reads again.
        wake_pending_ = false;
        std::optional<Loaded> loaded;
        try {
            auto job = load_job(generation_, last_reissue_id_);
            loaded = co_await state_->store.call(std::move(job));
        } catch (const std::exception& e) {
            // A locked, failing or unreachable store: keep serving from the
            // last snapshot; /healthz says so. Logged once when it goes away,
            // not on every poll.
            switch (state_->store_health.record_failure(e.what())) {
                case StoreHealth::Failure::began:
                    spdlog::error(
                        "cannot reload from the store: {}; serving from the last snapshot (generation {}) "
                        "until it answers",
                        e.what(),
                        generation_);
                    break;
                case StoreHealth::Failure::new_reason:
                    spdlog::debug("the store still cannot be read: {}", e.what());
                    break;
                case StoreHealth::Failure::same:
                    break;
            }
            continue;
        }
        if (state_->store_health.record_success()) {
            spdlog::info("the store answers again");
        }
        if (loaded && !stopped_) {
            install(std::move(*loaded));
        }
    }
}

// Runs on the main context (or the start-up thread before it runs).
void ClusterWatcher::install(Loaded loaded) {
    const auto previous = state_->snapshot();
    auto settings = lb::settings_from_config(loaded.config);
    if (!settings) {
        if (refused_generation_ != loaded.generation) {
            spdlog::error("stored configuration refused, keeping the previous one: {}", settings.error());
            refused_generation_ = loaded.generation;
        }
        settings = previous->settings;
    }
    auto built = make_snapshot(loaded.generation,
                               std::move(settings).value(),
                               host_ids_by_zone_of(loaded.hosts),
                               std::move(loaded.servers));
    if (!built) {
        spdlog::error("stored configuration refused, keeping the previous one: {}", built.error());
        built = make_snapshot(loaded.generation, previous->settings, {}, {});
        if (!built) {
            return;
        }
    }
    built->hosts_by_name = hosts_by_name_of(loaded.hosts);
    built->hosts_by_id = hosts_by_id_of(loaded.hosts);
    auto [places, refused_places] = places_of(loaded.scoped, built->servers);
    for (const auto& refusal : refused_places) {
        // Its hosts fall back to the wider settings; said once per generation.
        if (refused_place_generation_ != loaded.generation) {
            spdlog::error("stored configuration of {} refused; its hosts get the wider settings", refusal);
        }
    }
    refused_place_generation_ = loaded.generation;
    built->places = std::move(places);
    for (const auto& [key, field] : kServerKeyFields) {
        auto value = lb::server_key_from_config(loaded.config, *key);
        if (!value) {
            if (refused_server_key_generation_ != loaded.generation) {
                spdlog::error("stored configuration refused, keeping the previous value: {}", value.error());
            }
            value = (*previous).*field;
        }
        (*built).*field = *value;
    }
    // Weights naming addresses no longer in `host` cannot be stored (the
    // stores check both keys together); a hand-edited one keeps the
    // previous weights, like a corrupt server key.
    auto weights = lb::weights_from_config(loaded.config, built->settings.hosts);
    if (!weights) {
        if (refused_server_key_generation_ != loaded.generation) {
            spdlog::error("stored configuration refused, keeping the previous value: {}", weights.error());
        }
        weights = previous->weights;
    }
    built->weights = std::move(weights).value();
    auto certificates = lb::certificate_settings_from_config(loaded.config);
    if (!certificates) {
        if (refused_server_key_generation_ != loaded.generation) {
            spdlog::error("stored configuration refused, keeping the previous value: {}",
                          certificates.error());
        }
        certificates = previous->certificates;
    }
    built->certificates = *certificates;
    built->scoped = std::move(loaded.scoped);
    refused_server_key_generation_ = loaded.generation;
    auto snapshot = std::make_shared<const ClusterSnapshot>(std::move(built).value());
    // Counted from the first load on: serials revoked before this server started were not "learned".
    if (previous->generation >= 0) {
        std::uint64_t learned = 0;
        for (const auto& serial : loaded.revoked) {
            learned += state_->revoked->is_revoked(serial) ? 0 : 1;
        }
        state_->metrics.revocations_applied.fetch_add(learned);
    }
    state_->revoked->replace(std::move(loaded.revoked));
    apply_cas(loaded);

    if (snapshot->settings.hosts != previous->settings.hosts || previous->generation < 0) {
        if (snapshot->settings.hosts.empty()) {
            spdlog::warn("the `host` key is not set: agents get no list until it is");
        } else {
            const bool listed = std::any_of(
                snapshot->settings.hosts.begin(),
                snapshot->settings.hosts.end(),
                [this](const std::string& entry) { return lb::same_endpoint(entry, state_->advertise); });
            if (!listed) {
                spdlog::warn("this server ({}) is not in `host` ({}): agents will not be sent here",
                             state_->advertise,
                             util::join_bounded(snapshot->settings.hosts));
            }
        }
    }
    spdlog::debug(
        "store generation {}: {} {}@{} interval {}, weights [{}], avoid [{}], {} zones or clusters with "
        "their "
        "own values",
        snapshot->generation,
        snapshot->settings.hosts.size(),
        util::join_bounded(snapshot->settings.hosts),
        snapshot->settings.algorithm,
        snapshot->settings.check_interval,
        util::peer_text(lb::format_weights(snapshot->weights)),
        util::join_bounded(snapshot->avoid),
        snapshot->places.size());
    generation_ = snapshot->generation;
    state_->set_snapshot(snapshot);
    AgentSession::apply_to_all(state_->registry.sessions(), snapshot);
    {  // also without --hook: the status page lists them
        const auto* own = find_server(*snapshot, state_->options.name);
        const std::string_view own_state = own != nullptr ? std::string_view(own->state) : std::string_view();
        if (auto event = own_state_hook_event(state_->options.name, hook_state_, own_state)) {
            state_->post_hook(std::move(*event));
        }
    }
    const std::chrono::duration<double> lag = std::chrono::steady_clock::now() - loaded.seen_at;
    state_->metrics.store_change_lag_seconds.store(lag.count());
}

// Runs on the main context, as install does.
void ClusterWatcher::apply_cas(const Loaded& loaded) {
    auto change = state_->ca.update(loaded.trusted, state_->options.ca_dir);
    if (!change) {
        if (refused_ca_generation_ != loaded.generation) {
            spdlog::error("the store's trusted CAs refused, keeping the current ones: {}", change.error());
            refused_ca_generation_ = loaded.generation;
        }
        return;
    }
    const auto cas = state_->ca.view();
    if (change->issuer_changed) {
        spdlog::info("issuing certificates from the CA {} (--ca-dir {}) from now on",
                     cas->issuer_fingerprint,
                     state_->options.ca_dir);
    }
    if (change->trust_changed) {
        if (cas->issuer_outdated) {
            spdlog::warn(
                "the store's active CA is {}, but --ca-dir {} holds {}: this server issues from it until "
                "the rotated CA files (ca.key, ca.crt) are copied there",
                loaded.trusted.empty() ? std::string() : loaded.trusted.front().fingerprint,
                state_->options.ca_dir,
                cas->issuer_fingerprint);
        }
        spdlog::info("trusting {} CA certificate(s){}",
                     cas->trust_fingerprints.size(),
                     cas->previous_fingerprint ? ", a CA rotation is in progress" : "");
        // New connections get the new trust set and chain; open sessions keep theirs.
        if (const auto tls = state_->tls.current()) {
            ServerCredentials credentials{tls->certificate_pem, tls->key_pem, {}, {}};
            auto rebuilt = make_server_tls(credentials, tls->issuer_fingerprint, *cas, state_->revoked, state_->ticket_keys);
            if (rebuilt) {
                state_->tls.install(*rebuilt);
            } else {
                spdlog::error("cannot use the new set of trusted CAs: {}", rebuilt.error());
            }
        }
        for (const auto& session : state_->registry.sessions()) {
            session->offer_trust(cas);
        }
    }
    if (!cas->previous_fingerprint) {
        state_->reissue_all.store(false);
    }
    if (!loaded.reissues.empty()) {
        state_->reissue_all.store(true);
        last_reissue_id_ = loaded.reissues.back().id;
        if (reissue_) {
            reissue_->request(loaded.reissues.back().rate);
        }
    }
}

}  // namespace agentlb::mgmt
