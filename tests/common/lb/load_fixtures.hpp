#pragma once

// Zones written down briefly for the load rule, tracker and density tests.

#include "common/lb/zone_load.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace agentlb::lb::test {

inline ZoneServer server(std::string address, std::int64_t weight = 1, bool counts = true) {
    return ZoneServer{std::move(address), weight, counts};
}

// `counts[i]` agents on servers[i], host ids from `first_id` up, each with `list`.
inline std::vector<ZoneAgent> agents_on(const std::vector<ZoneServer>& servers,
                                        const std::vector<int>& counts,
                                        const std::vector<std::string>& list,
                                        std::int64_t first_id = 1) {
    std::vector<ZoneAgent> agents;
    std::int64_t id = first_id;
    for (std::size_t s = 0; s < counts.size(); ++s) {
        for (int i = 0; i < counts[s]; ++i) {
            agents.push_back(ZoneAgent{id++, servers[s].address, list, std::nullopt});
        }
    }
    return agents;
}

// The list every agent holds unless a test says otherwise.
inline const std::vector<std::string> kList{"ms1", "ms2", "ms3"};

// A zone of `servers` (ms1..ms3 of weight 1 unless given) with counts[i]
// agents on servers[i], each holding `list`.
inline ZoneLoad zone_of(const std::vector<int>& counts,
                        std::vector<ZoneServer> servers = {server("ms1"), server("ms2"), server("ms3")},
                        const std::vector<std::string>& list = kList) {
    ZoneLoad zone;
    zone.agents = agents_on(servers, counts, list);
    zone.servers = std::move(servers);
    return zone;
}

// Every agent's `current` after the moves.
inline void apply_moves(ZoneLoad& zone, const std::vector<Move>& moves) {
    for (const Move& move : moves) {
        for (ZoneAgent& agent : zone.agents) {
            if (agent.host_id == move.host_id) {
                agent.current = move.to;
            }
        }
    }
}

}  // namespace agentlb::lb::test
