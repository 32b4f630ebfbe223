#include "mgmt/rebalancer.hpp"

#include "common/lb/rebalance.hpp"
#include "common/util/exception_text.hpp"
#include "common/util/text.hpp"
#include "mgmt/agent_session.hpp"
#include "mgmt/shared_state.hpp"
#include "mgmt/tick_loop.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

namespace agentlb::mgmt {

namespace asio = boost::asio;

namespace {

std::vector<lb::ServerView> server_views(const ClusterSnapshot& snapshot) {
    std::vector<lb::ServerView> views;
    views.reserve(snapshot.servers.size());
    for (const auto& server : snapshot.servers) {
        views.push_back({server.address, server.state, server.maintenance});
    }
    return views;
}

std::string describe(const store::RebalanceRequest& request) {
    return "rebalance " + std::to_string(request.id) +
           (request.target
                ? " (agents that put " + util::peer_text(*request.target) + " ahead of their server)"
                : " (every agent)");
}

}  // namespace

Rebalancer::Rebalancer(asio::io_context& context, std::shared_ptr<SharedState> state)
    : context_(context), state_(std::move(state)), timer_(context) {}

void Rebalancer::load_initial() {
    last_id_ = state_->store.call_sync([](store::Store& store) { return store.last_rebalance_id(); });
}

void Rebalancer::start() {
    spawn_loop(context_, "rebalance loop", [self = shared_from_this()] { return self->loop(); });
}

void Rebalancer::stop() {
    asio::post(context_, [self = shared_from_this()] {
        self->stopped_ = true;
        self->timer_.cancel();
    });
}

asio::awaitable<void> Rebalancer::loop() {
    for (;;) {
        const bool go_on = co_await next_tick(timer_, kMigrationTick, stopped_);
        if (!go_on) {
            break;
        }
        const auto now = Clock::now();
        co_await read_requests(now);
        if (stopped_) {
            break;
        }
        if (!waiting_.empty()) {
            const auto snapshot = state_->snapshot();
            if (snapshot->generation >= waiting_generation_) {
                for (const auto& request : waiting_) {
                    queue(request, *snapshot, false);
                    for (const auto after : kRebalanceRechecks) {
                        rechecks_.push_back({now + after, request});
                    }
                }
                waiting_.clear();
            }
        }
        recheck(now);
        send_some();
    }
}

asio::awaitable<void> Rebalancer::read_requests(Clock::time_point now) {
    const auto generation = state_->snapshot()->generation;
    if (generation == read_generation_ || now < retry_at_) {
        co_return;
    }
    auto job = [after = last_id_](store::Store& store) {
        Read read;
        read.requests = store.rebalance_requests_after(after);
        read.generation = store.generation();
        return read;
    };
    Read read;
    try {
        read = co_await state_->store.call(std::move(job));
    } catch (const std::exception& e) {
        // The watcher reports the store's absence; this only says what waits.
        if (!read_failing_) {
            spdlog::warn("cannot read rebalance requests: {}; trying again every {} s",
                         e.what(),
                         kRebalanceRetry.count());
            read_failing_ = true;
        }
        retry_at_ = now + kRebalanceRetry;
        co_return;
    }
    read_failing_ = false;
    read_generation_ = generation;
    if (read.requests.empty()) {
        co_return;
    }
    last_id_ = read.requests.back().id;
    for (auto& request : read.requests) {
        waiting_.push_back(std::move(request));
    }
    waiting_generation_ = read.generation;
}

void Rebalancer::recheck(Clock::time_point now) {
    const auto due = std::partition(
        rechecks_.begin(), rechecks_.end(), [now](const Recheck& recheck) { return recheck.at > now; });
    if (due == rechecks_.end()) {
        return;
    }
    const auto snapshot = state_->snapshot();
    for (auto it = due; it != rechecks_.end(); ++it) {
        queue(it->request, *snapshot, true);
    }
    rechecks_.erase(due, rechecks_.end());
}

void Rebalancer::queue(const store::RebalanceRequest& request, const ClusterSnapshot& snapshot, bool again) {
    const auto views = server_views(snapshot);
    if (!takes_agents(snapshot, state_->options.name)) {
        if (again) {
            return;
        }
        spdlog::info(
            "{}: this server is not up (draining, in maintenance or marked down): its agents "
            "move with its drain instead",
            describe(request));
        return;
    }
    std::optional<std::string> target;
    if (request.target) {
        const auto* server = find_server(snapshot, *request.target);
        if (server == nullptr) {
            spdlog::warn("{}: no management server named {} is registered any more; nothing to move",
                         describe(request),
                         util::peer_text(*request.target));
            return;
        }
        target = server->address;
    }
    // A session already queued stays queued once; a request for every agent
    // widens a targeted one.
    std::map<const AgentSession*, Item*> queued;
    for (auto& item : pending_) {
        if (auto session = item.session.lock()) {
            queued.emplace(session.get(), &item);
        }
    }
    const auto sessions = state_->registry.sessions();
    std::size_t moving = 0;
    for (const auto& session : sessions) {
        const auto status = session->status();
        if (!status.welcomed) {
            continue;
        }
        std::optional<std::string_view> target_view;
        if (target) {
            target_view = *target;
        }
        if (!lb::rebalance_destination(status.held.list, state_->advertise, views, target_view)) {
            continue;
        }
        if (const auto it = queued.find(session.get()); it != queued.end()) {
            if (!target) {
                it->second->target.reset();
            }
            continue;
        }
        pending_.push_back({session, target, request.id});
        queued.emplace(session.get(), &pending_.back());
        ++moving;
    }
    if (pending_.size() == moving) {
        budget_.reset();
    }
    if (again && moving == 0) {
        return;
    }
    spdlog::info(
        "{}{}: moving {} of this server's {} agent sessions to their preferred servers (at most {} a "
        "second)",
        again ? "again, " : "",
        describe(request),
        moving,
        sessions.size(),
        snapshot.drain_rate);
}

void Rebalancer::send_some() {
    if (pending_.empty()) {
        return;
    }
    const auto snapshot = state_->snapshot();
    const auto views = server_views(*snapshot);
    if (!takes_agents(*snapshot, state_->options.name)) {
        // Draining now: the drain moves every agent.
        pending_.clear();
        return;
    }
    auto budget = budget_.take(snapshot->drain_rate);
    while (budget > 0 && !pending_.empty()) {
        const Item item = std::move(pending_.front());
        pending_.pop_front();
        const auto session = item.session.lock();
        if (!session) {
            continue;
        }
        // Judged again: the layout may have changed since the request.
        const auto status = session->status();
        std::optional<std::string_view> target;
        if (item.target) {
            target = *item.target;
        }
        const auto destination =
            lb::rebalance_destination(status.held.list, state_->advertise, views, target);
        if (!status.welcomed || !destination) {
            continue;
        }
        spdlog::debug("rebalance {}: agent {} sent migrate towards {}",
                      item.request,
                      util::peer_text(status.name),
                      util::peer_text(*destination));
        // The avoid list every agent is given now (a migrate replaces the
        // agent's): nothing extra. Not the session's held one, which may
        // predate the snapshot this rebalance judged by.
        // `to`: only servers ahead of this one, so that an agent whose
        // destination refuses it (a server that has not seen its own cancel
        // yet) stays here rather than moving down its list.
        const KnownHost* host = find_host_by_id(*snapshot, status.host_id);
        const auto& avoid =
            host != nullptr ? settings_for(*snapshot, {host->zone, host->cluster}).avoid : snapshot->avoid;
        session->migrate("rebalance: preferred server " + *destination + " is up",
                         avoid,
                         lb::available_entries_ahead(status.held.list, state_->advertise, views));
        state_->metrics.count_migrations(MigrationReason::rebalance, 1);
        --budget;
    }
}

}  // namespace agentlb::mgmt
