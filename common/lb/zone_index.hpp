#pragma once

// The zone's agents and servers resolved to indices once, so the load rule
// and the density fill compare addresses with `same_endpoint`'s identity key
// without parsing an entry per comparison. Internal to agentlb_lb.

#include "common/lb/zone_load.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace agentlb::lb::detail {

// Products of counts and weights: N * w * 2000 stays far below 2^127.
__extension__ typedef __int128 Wide;

struct IndexedEntry {
    std::size_t server;    // index into ZoneIndex::servers
    std::size_t position;  // index into the agent's list
};

struct ZoneIndex {
    // Rows of ZoneLoad::servers kept: the first row of each distinct address.
    std::vector<std::size_t> servers;
    std::vector<bool> counts;
    std::vector<bool> takes;           // counts and a weight > 0 (all 1 when all weigh 0)
    std::vector<std::int64_t> weight;  // effective weight: 0 unless it takes agents
    std::vector<std::int64_t> count;   // connected agents per server
    std::int64_t total_weight = 0;     // W (0 when no server counts)
    std::int64_t considered = 0;       // N: agents on servers that count
    // Per agent: its server, when that is one of `servers`.
    std::vector<std::optional<std::size_t>> current;
    // Per agent: the entries of its list that name one of `servers`, in list
    // order, each server once (its first entry).
    std::vector<std::vector<IndexedEntry>> entries;

    // An agent the rules may move: connected to a server that counts.
    bool considered_agent(std::size_t agent) const { return current[agent] && counts[*current[agent]]; }
    // count < share (N * w / W), exactly.
    bool under_share(std::size_t server) const {
        return static_cast<Wide>(count[server]) * total_weight <
               static_cast<Wide>(considered) * weight[server];
    }
};

ZoneIndex index_zone(const ZoneLoad& zone);

// Highest round trip first (none reported last), then lowest host id, then
// input order: the order in which agents are picked to move.
std::vector<std::size_t> move_order(const ZoneLoad& zone, std::vector<std::size_t> agents);

}  // namespace agentlb::lb::detail
