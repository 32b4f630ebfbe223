#include "common/lb/density.hpp"

#include "common/lb/zone_index.hpp"

#include <algorithm>

namespace agentlb::lb {

DensityPlan plan_density(const ZoneLoad& zone, std::int64_t max_agents) {
    max_agents = std::max<std::int64_t>(max_agents, 1);
    const detail::ZoneIndex index = detail::index_zone(zone);
    const std::size_t servers = index.servers.size();

    std::vector<std::int64_t> target(servers, 0);
    std::int64_t left = index.considered;
    for (std::size_t s = 0; s < servers && left > 0; ++s) {
        if (index.takes[s]) {
            target[s] = std::min(max_agents, left);
            left -= target[s];
        }
    }

    DensityPlan plan;
    plan.targets.resize(zone.agents.size());
    // Per server, its agents: those its list does not name first (they go
    // first), then in move order; the last `target` of them stay.
    std::vector<std::vector<std::size_t>> held(servers);
    for (std::size_t a = 0; a < zone.agents.size(); ++a) {
        if (index.considered_agent(a)) {
            held[*index.current[a]].push_back(a);
        }
    }
    auto names = [&index](std::size_t agent, std::size_t server) {
        const auto& entries = index.entries[agent];
        return std::any_of(entries.begin(), entries.end(), [server](const detail::IndexedEntry& entry) {
            return entry.server == server;
        });
    };
    std::vector<std::int64_t> placed(servers, 0);
    std::vector<std::size_t> movers;
    for (std::size_t s = 0; s < servers; ++s) {
        std::vector<std::size_t> order = detail::move_order(zone, held[s]);
        std::stable_partition(
            order.begin(), order.end(), [&](std::size_t agent) { return !names(agent, s); });
        const std::size_t keep = std::min<std::size_t>(order.size(), static_cast<std::size_t>(target[s]));
        const std::size_t leave = order.size() - keep;
        for (std::size_t i = 0; i < order.size(); ++i) {
            if (i < leave) {
                movers.push_back(order[i]);
            } else {
                plan.targets[order[i]] = zone.agents[order[i]].current;
                ++placed[s];
            }
        }
    }

    for (std::size_t a : detail::move_order(zone, std::move(movers))) {
        const ZoneAgent& agent = zone.agents[a];
        const auto& entries = index.entries[a];
        const auto room =
            std::find_if(entries.begin(), entries.end(), [&](const detail::IndexedEntry& entry) {
                return placed[entry.server] < target[entry.server];
            });
        if (room == entries.end()) {
            plan.targets[a] = agent.current;
            ++plan.stranded;
            continue;
        }
        ++placed[room->server];
        plan.targets[a] = agent.list[room->position];
        plan.moves.push_back({agent.host_id, agent.current, agent.list[room->position]});
    }
    return plan;
}

}  // namespace agentlb::lb
