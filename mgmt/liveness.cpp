#include "mgmt/liveness.hpp"

#include "common/util/clock.hpp"
#include "common/util/exception_text.hpp"
#include "common/util/text.hpp"
#include "mgmt/agent_session.hpp"
#include "mgmt/shared_state.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace agentlb::mgmt {

namespace asio = boost::asio;

namespace {

constexpr std::chrono::seconds kCheckPeriod{1};
// Grace before closing a superseded session, in server heartbeat intervals:
// an agent switching servers closes its old session 500 ms after welcome.
constexpr int kSupersedeGraceIntervals = 2;

void log_end(std::exception_ptr e) {
    if (auto text = util::exception_text(e)) {
        spdlog::critical("liveness loop ended: {}", *text);
    }
}

struct Transition {
    std::string name;
    std::string what;
};

const store::ServerRecord* find_server(const std::vector<store::ServerRecord>& servers,
                                       const std::string& name) {
    auto it = std::find_if(servers.begin(), servers.end(), [&](const auto& s) { return s.name == name; });
    return it == servers.end() ? nullptr : &*it;
}

}  // namespace

struct Liveness::CheckOutcome {
    std::vector<Transition> transitions;
    // Hosts of this server whose record names another server.
    std::vector<std::pair<std::int64_t, std::string>> superseded;
    std::vector<std::string> errors;
    // Peers this check marked down (name, why), for the --hook runner.
    std::vector<std::pair<std::string, std::string>> marked_down;
};

Liveness::Liveness(asio::io_context& context, std::shared_ptr<SharedState> state)
    : context_(context), state_(std::move(state)), heartbeat_timer_(context), check_timer_(context) {}

void Liveness::start() {
    auto self = shared_from_this();
    asio::co_spawn(
        context_, [self] { return self->heartbeat_loop(); }, log_end);
    asio::co_spawn(
        context_, [self] { return self->check_loop(); }, log_end);
}

void Liveness::stop() {
    asio::post(context_, [self = shared_from_this()] {
        self->stopped_ = true;
        self->heartbeat_timer_.cancel();
        self->check_timer_.cancel();
    });
}

std::chrono::steady_clock::duration Liveness::supersede_grace() const {
    return state_->options.server_heartbeat_interval * kSupersedeGraceIntervals;
}

asio::awaitable<void> Liveness::heartbeat_loop() {
    while (!stopped_) {
        heartbeat_timer_.expires_after(state_->options.server_heartbeat_interval);
        boost::system::error_code ec;
        co_await heartbeat_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (stopped_) {
            break;
        }
        const auto agents = static_cast<std::int64_t>(state_->registry.host_count());
        auto job = [state = state_, agents](store::Store& store) {
            store.heartbeat_server(state->options.name, util::unix_now(), agents);
        };
        try {
            co_await state_->store.call(std::move(job));
            beats_.fetch_add(1);
        } catch (const std::exception& e) {
            spdlog::log(store_failure_level(state_->store_health),
                        "cannot write this server's heartbeat: {}",
                        e.what());
        }
    }
}

void Liveness::recheck_records(store::Store& store) {
    auto hosts = state_->take_records_to_recheck();
    const auto& name = state_->options.name;
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        if (state_->stopping.load()) {
            break;
        }
        const auto& host = hosts[i];
        try {
            if (state_->registry.session_count_of(host.host_id) == 0) {
                store.clear_connected_if(host.host_id, name);
            } else if (host.write) {
                // As at welcome: the newest session names its server (the
                // one named so far is told through take_superseded).
                store.set_connected(host.host_id, name, util::unix_now());
            } else {
                // Only an empty record: a newer session elsewhere keeps its own.
                store.claim_if_unconnected(host.host_id, name, util::unix_now());
            }
        } catch (...) {
            for (; i < hosts.size(); ++i) {
                state_->recheck_record_later(hosts[i].host_id, hosts[i].write);
            }
            throw;
        }
    }
}

Liveness::CheckOutcome Liveness::check(store::Store& store) {
    recheck_records(store);
    CheckOutcome outcome;
    const auto& name = state_->options.name;
    const auto beats = beats_.load();
    const auto interval = state_->options.server_heartbeat_interval.count();
    auto servers = store.list_servers();
    const auto* own = find_server(servers, name);
    // A row in `preparing` or `maintenance` is this server's own doing (or
    // the operator's): only a missing or `down` row means it was judged dead.
    if ((own == nullptr || own->state == store::kServerDown) && !state_->stopping.load()) {
        const bool missing = own == nullptr;
        const auto held = state_->registry.host_ids();
        auto rejoin =
            store.rejoin_server(name, state_->advertise, state_->started_at, util::unix_now(), held);
        outcome.transitions.push_back(
            {name,
             std::string(missing ? "row was missing" : "was marked down while alive") +
                 "; marked up again, connection records of " + std::to_string(rejoin.restored) + " of its " +
                 std::to_string(held.size()) + " hosts restored"});
        outcome.superseded = std::move(rejoin.elsewhere);
        servers = store.list_servers();
        own = find_server(servers, name);
    }
    bool marked_down = false;
    for (const auto& server : servers) {
        if (server.name == name) {
            continue;
        }
        auto [seen, inserted] = peers_.try_emplace(server.name, PeerSeen{server.last_heartbeat, beats});
        if (inserted || seen->second.heartbeat != server.last_heartbeat) {
            seen->second = PeerSeen{server.last_heartbeat, beats};
            continue;
        }
        // Judged only against heartbeats this server managed to write: while
        // the store stalls, nobody's heartbeat advances, ours included.
        const bool missed = beats - seen->second.own_beats > kMissedHeartbeatsBeforeDead;
        if (server.state == store::kServerDown || !missed || own == nullptr ||
            !heartbeat_expired(
                server.last_heartbeat, own->last_heartbeat, interval, kMissedHeartbeatsBeforeDead)) {
            continue;
        }
        try {
            if (store.mark_server_down(server.name, server.last_heartbeat)) {
                marked_down = true;
                outcome.transitions.push_back({server.name,
                                               "is down: its heartbeat did not change over " +
                                                   std::to_string(beats - seen->second.own_beats) +
                                                   " of this server's heartbeats (last one " +
                                                   std::to_string(util::unix_now() - server.last_heartbeat) +
                                                   " s ago)"});
                outcome.marked_down.emplace_back(
                    server.name, "management server " + server.name + " " + outcome.transitions.back().what);
            }
        } catch (const store::StoreError& e) {
            // Judged again at the next check; what was found so far is kept.
            outcome.errors.push_back("cannot mark management server " + server.name + " down: " + e.what());
        }
    }
    // Read again only when this check changed a row: once a second, every server.
    if (marked_down) {
        servers = store.list_servers();
    }
    refresh_zone_metrics(store, *state_, servers);
    const auto failovers = state_->failovers.settle(
        servers, FailoverWatch::Clock::now(), (kMissedHeartbeatsBeforeDead + 5) * state_->options.server_heartbeat_interval);
    state_->metrics.failovers_observed.fetch_add(failovers.size());
    for (const auto& failover : failovers) {
        state_->events.add(failover_event(util::unix_now(), failover.host, failover.previous));
    }
    state_->set_servers(std::move(servers));
    // Last: its rows are deleted as they are read.
    for (auto& superseded : store.take_superseded(name)) {
        outcome.superseded.emplace_back(superseded.host_id, std::move(superseded.by));
    }
    return outcome;
}

asio::awaitable<void> Liveness::check_loop() {
    while (!stopped_) {
        check_timer_.expires_after(std::min<std::chrono::steady_clock::duration>(
            kCheckPeriod, state_->options.server_heartbeat_interval));
        boost::system::error_code ec;
        co_await check_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (stopped_) {
            break;
        }
        auto job = [self = shared_from_this()](store::Store& store) { return self->check(store); };
        try {
            auto outcome = co_await state_->store.call(std::move(job));
            for (const auto& t : outcome.transitions) {
                spdlog::warn("management server {} {}", t.name, t.what);
            }
            for (const auto& error : outcome.errors) {
                spdlog::error("{}", error);
            }
            for (auto& [peer, why] : outcome.marked_down) {
                state_->post_hook(server_hook_event(kHookServerDown,
                                                    state_->options.name,
                                                    std::move(peer),
                                                    std::string(store::kServerDown),
                                                    "heartbeat_missed",
                                                    std::move(why)));
            }
            for (auto& [host_id, by] : outcome.superseded) {
                if (state_->registry.session_count_of(host_id) > 0) {
                    supersede_later(host_id, std::move(by));
                }
            }
        } catch (const std::exception& e) {
            spdlog::log(store_failure_level(state_->store_health),
                        "cannot check the other servers' heartbeats: {}",
                        e.what());
        }
    }
}

void Liveness::supersede_later(std::int64_t host_id, std::string by) {
    auto self = shared_from_this();
    asio::co_spawn(
        context_,
        [self, host_id, by = std::move(by)]() mutable {
            return self->settle_superseded(host_id, std::move(by));
        },
        log_end);
}

asio::awaitable<void> Liveness::settle_superseded(std::int64_t host_id, std::string by) {
    spdlog::debug(
        "host id {}: a newer session is recorded on server {}; this server's closes in {} s "
        "unless one of them ends first",
        host_id,
        util::peer_text(by),
        std::chrono::duration_cast<std::chrono::seconds>(supersede_grace()).count());
    asio::steady_timer grace(context_);
    grace.expires_after(supersede_grace());
    boost::system::error_code ec;
    co_await grace.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_ || state_->registry.session_count_of(host_id) == 0) {
        co_return;
    }
    // The newer session may have ended meanwhile: the one left here is then
    // the host's session and the empty record names this server again.
    auto job = [state = state_, host_id](store::Store& store) -> std::optional<std::string> {
        if (state->stopping.load()) {
            return state->options.name;
        }
        return store.claim_if_unconnected(host_id, state->options.name, util::unix_now());
    };
    std::optional<std::string> holder;
    try {
        holder = co_await state_->store.call(std::move(job));
    } catch (const std::exception& e) {
        spdlog::log(store_failure_level(state_->store_health),
                    "cannot check which server holds host id {}: {}",
                    host_id,
                    e.what());
        co_return;
    }
    if (!holder || *holder == state_->options.name) {
        co_return;
    }
    for (const auto& session : state_->registry.sessions_of(host_id)) {
        session->close_superseded(*holder);
    }
}

}  // namespace agentlb::mgmt
