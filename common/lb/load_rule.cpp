#include "common/lb/load_rule.hpp"

#include "common/lb/endpoint.hpp"
#include "common/lb/zone_index.hpp"

#include <algorithm>

namespace agentlb::lb {
namespace {

using detail::Wide;
using detail::ZoneIndex;

std::vector<ServerLoad> assess(const ZoneLoad& zone,
                               const ZoneIndex& index,
                               std::int64_t threshold_permille) {
    const Wide t = std::max<std::int64_t>(threshold_permille, 0);
    const Wide n = index.considered;
    const Wide w_total = index.total_weight;
    std::vector<ServerLoad> loads;
    loads.reserve(index.servers.size());
    for (std::size_t s = 0; s < index.servers.size(); ++s) {
        ServerLoad load;
        load.address = zone.servers[index.servers[s]].address;
        load.count = index.count[s];
        load.counts = index.counts[s];
        load.takes_agents = index.takes[s];
        if (index.counts[s] && w_total > 0) {
            load.share_numerator = index.considered * index.weight[s];
            load.share_denominator = index.total_weight;
            // Everything in units of 1/W agents (and of 1/1000 or 1/2000 of that).
            const Wide count = static_cast<Wide>(load.count) * w_total;
            const Wide share = static_cast<Wide>(n) * index.weight[s];
            const Wide above = count - share;
            const bool whole_agent_above = above >= w_total;
            load.excess = whole_agent_above ? static_cast<std::int64_t>(above / w_total) : 0;
            load.over = whole_agent_above && count * 1000 > share * (1000 + t);
            load.settled = !whole_agent_above || count * 2000 < share * (2000 + t);
        }
        loads.push_back(std::move(load));
    }
    return loads;
}

}  // namespace

std::vector<ServerLoad> assess_load(const ZoneLoad& zone, std::int64_t threshold_permille) {
    return assess(zone, detail::index_zone(zone), threshold_permille);
}

std::vector<Move> plan_load_moves(const ZoneLoad& zone,
                                  std::int64_t threshold_permille,
                                  const std::vector<std::string>& shedding) {
    ZoneIndex index = detail::index_zone(zone);
    const std::vector<ServerLoad> loads = assess(zone, index, threshold_permille);
    std::vector<std::int64_t> quota(loads.size(), 0);
    for (std::size_t s = 0; s < loads.size(); ++s) {
        const bool named = std::any_of(shedding.begin(), shedding.end(), [&](const std::string& address) {
            return same_endpoint(address, loads[s].address);
        });
        if (named && loads[s].over) {
            quota[s] = loads[s].excess;
        }
    }

    std::vector<std::size_t> candidates;
    for (std::size_t a = 0; a < zone.agents.size(); ++a) {
        if (index.current[a] && quota[*index.current[a]] > 0) {
            candidates.push_back(a);
        }
    }
    std::vector<Move> moves;
    for (std::size_t a : detail::move_order(zone, std::move(candidates))) {
        const std::size_t from = *index.current[a];
        if (quota[from] == 0) {
            continue;
        }
        for (const detail::IndexedEntry& entry : index.entries[a]) {
            if (entry.server == from || !index.takes[entry.server] || !index.under_share(entry.server)) {
                continue;
            }
            moves.push_back(
                {zone.agents[a].host_id, zone.agents[a].current, zone.agents[a].list[entry.position]});
            ++index.count[entry.server];
            --index.count[from];
            --quota[from];
            break;
        }
    }
    return moves;
}

std::vector<Move> plan_load_moves(const ZoneLoad& zone, std::int64_t threshold_permille) {
    std::vector<std::string> every;
    for (const ZoneServer& server : zone.servers) {
        every.push_back(server.address);
    }
    return plan_load_moves(zone, threshold_permille, every);
}

}  // namespace agentlb::lb
