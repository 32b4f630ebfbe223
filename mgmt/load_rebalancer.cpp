#include "mgmt/load_rebalancer.hpp"

#include "common/lb/density.hpp"
#include "common/lb/endpoint.hpp"
#include "common/lb/load_rule.hpp"
#include "common/util/text.hpp"
#include "mgmt/agent_session.hpp"
#include "mgmt/shared_state.hpp"
#include "mgmt/tick_loop.hpp"
#include "mgmt/zone_load_view.hpp"

#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

#include <optional>
#include <set>
#include <unordered_map>

namespace agentlb::mgmt {

namespace asio = boost::asio;

namespace {

struct Read {
    lb::ScopedConfig config;
    std::vector<store::HostRecord> hosts;
    bool acting = false;
};

}  // namespace

LoadRebalancer::LoadRebalancer(asio::io_context& context, std::shared_ptr<SharedState> state)
    : context_(context), state_(std::move(state)), timer_(context) {}

void LoadRebalancer::start() {
    spawn_loop(context_, "load rebalance loop", [self = shared_from_this()] { return self->loop(); });
}

void LoadRebalancer::stop() {
    asio::post(context_, [self = shared_from_this()] {
        self->stopped_ = true;
        self->timer_.cancel();
    });
}

asio::awaitable<void> LoadRebalancer::loop() {
    for (;;) {
        const bool go_on = co_await next_tick(timer_, kMigrationTick, stopped_);
        if (!go_on) {
            break;
        }
        const auto now = Clock::now();
        if (now >= next_check_) {
            next_check_ = now + kLoadCheckPeriod;
            co_await judge(now);
            if (stopped_) {
                break;
            }
        }
        send_some(now);
    }
}

asio::awaitable<void> LoadRebalancer::judge(Clock::time_point now) {
    // The configuration is read again only when the generation changed (every
    // change bumps it); the hosts' connection records, every time it may act.
    const auto generation = state_->snapshot()->generation;
    const bool fresh = generation != config_generation_;
    if (!fresh && !config_acting_) {
        trackers_.clear();
        pending_.clear();
        co_return;
    }
    auto job = [fresh](store::Store& store) {
        Read read;
        read.acting = true;
        if (fresh) {
            read.config = store.scoped_config();
            read.acting = rebalancer_may_act(read.config);
        }
        if (read.acting) {
            read.hosts = store.list_hosts();
        }
        return read;
    };
    Read read;
    try {
        read = co_await state_->store.call(std::move(job));
    } catch (const std::exception& e) {
        if (!read_failing_) {
            spdlog::warn("load rebalancer: cannot read the store: {}; trying again every {} s",
                         e.what(),
                         kLoadCheckPeriod.count());
            read_failing_ = true;
        }
        co_return;
    }
    read_failing_ = false;
    if (fresh) {
        config_ = std::move(read.config);
        config_acting_ = read.acting;
        config_generation_ = generation;
    }
    const auto snapshot = state_->snapshot();
    if (!config_acting_ || !takes_agents(*snapshot, state_->options.name)) {
        trackers_.clear();
        pending_.clear();
        co_return;
    }
    std::map<std::int64_t, std::int64_t> rtt_us;
    for (const auto& session : state_->registry.sessions()) {
        const auto status = session->status();
        if (status.welcomed && status.rtt_us) {
            rtt_us[status.host_id] = *status.rtt_us;
        }
    }
    for (auto it = sent_.begin(); it != sent_.end();) {
        it = now - it->second >= kMigrateAgainAfter ? sent_.erase(it) : std::next(it);
    }
    std::set<std::int64_t> queued;
    for (const auto& item : pending_) {
        queued.insert(item.host_id);
    }
    const auto wall = std::chrono::system_clock::now() + state_->options.schedule_offset;
    std::set<std::string> zones;
    for (auto& work : zone_work(*snapshot, config_, read.hosts, rtt_us)) {
        zones.insert(work.zone);
        const auto mode = work.settings.mode_at(wall);
        const auto behaviour = lb::behaviour_settings(work.settings.behaviour);
        if (auto& logged = modes_[work.zone]; logged != lb::mode_name(mode)) {
            spdlog::info("load rebalancer: zone {} is in {} mode (behaviour {})",
                         util::peer_text(work.zone),
                         lb::mode_name(mode),
                         lb::behaviour_name(work.settings.behaviour));
            logged = std::string(lb::mode_name(mode));
        }
        std::vector<lb::Move> moves;
        std::string why;
        if (mode == lb::Mode::density) {
            trackers_.erase(work.zone);
            moves = lb::plan_density(work.load, work.settings.density_max_agents).moves;
            why = "density";
        } else if (behaviour) {
            const auto hold = state_->options.rebalance_hold.value_or(behaviour->hold);
            auto tracker = trackers_.try_emplace(work.zone, hold).first;
            const auto loads = lb::assess_load(work.load, behaviour->threshold_permille);
            const auto shedding = tracker->second.update(now, loads);
            if (!shedding.empty()) {
                moves = lb::plan_load_moves(work.load, behaviour->threshold_permille, shedding);
                why = "load";
            }
        } else {
            trackers_.erase(work.zone);
        }
        const std::int64_t rate = behaviour ? behaviour->rate : snapshot->drain_rate;
        std::size_t mine = 0;
        for (auto& move : moves) {
            if (!lb::same_endpoint(move.from, state_->advertise) || queued.count(move.host_id) != 0 ||
                sent_.count(move.host_id) != 0) {
                continue;
            }
            queued.insert(move.host_id);
            pending_.push_back({move.host_id, std::move(move.to), why, rate});
            ++mine;
        }
        if (mine > 0) {
            spdlog::info(
                "load rebalancer: zone {} ({}): moving {} of this server's agents (of {} planned, at "
                "most {} a second)",
                util::peer_text(work.zone),
                why,
                mine,
                moves.size(),
                rate);
        }
    }
    for (auto it = trackers_.begin(); it != trackers_.end();) {
        it = zones.count(it->first) == 0 ? trackers_.erase(it) : std::next(it);
    }
}

void LoadRebalancer::send_some(Clock::time_point now) {
    if (pending_.empty()) {
        budget_.reset();
        return;
    }
    const auto snapshot = state_->snapshot();
    if (!takes_agents(*snapshot, state_->options.name)) {
        pending_.clear();
        return;
    }
    auto budget = budget_.take(pending_.front().rate);
    if (budget == 0) {
        return;
    }
    std::unordered_map<std::int64_t, std::shared_ptr<AgentSession>> sessions;
    for (auto& session : state_->registry.sessions()) {
        const auto status = session->status();
        if (status.welcomed) {
            sessions.emplace(status.host_id, std::move(session));
        }
    }
    while (budget > 0 && !pending_.empty()) {
        const Pending item = std::move(pending_.front());
        pending_.pop_front();
        const auto it = sessions.find(item.host_id);
        if (it == sessions.end()) {
            continue;  // gone, or not here any more
        }
        const auto status = it->second->status();
        const auto* host = find_host_by_id(*snapshot, item.host_id);
        const auto& avoid =
            host != nullptr ? settings_for(*snapshot, {host->zone, host->cluster}).avoid : snapshot->avoid;
        spdlog::debug("load rebalancer ({}): agent {} sent migrate towards {}",
                      item.why,
                      util::peer_text(status.name),
                      util::peer_text(item.to));
        it->second->migrate("rebalance (" + item.why + "): " + item.to + " has room", avoid, {item.to});
        state_->metrics.count_migrations(MigrationReason::rebalance, 1);
        sent_[item.host_id] = now;
        --budget;
    }
}

}  // namespace agentlb::mgmt
