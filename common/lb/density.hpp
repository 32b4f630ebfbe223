#pragma once

// Density mode (`agentlb.mode` = density): fill the zone's servers in the
// order of `ZoneLoad::servers` (the zone's `host` order) up to `max_agents`
// each (`agentlb.density.max.agents`, registered in issue 15's next step), so
// that the servers at the end hold none and can be maintained or switched off.
//
// The fill follows `host` order, not each agent's own list order: under
// roundrobin or hash every server is first in some agents' lists, and filling
// each agent's first entry would spread agents over every server.
//
// Rule (docs/DESIGN.md, "Load-aware rebalancer"):
// - The agents considered are those on servers that count (as in the load
//   rule); servers that take agents (count, weight > 0, or all weigh 0) get,
//   in order, min(max_agents, what is left): the target counts.
// - Each server keeps up to its target of the agents it holds (those its list
//   does not name are let go first, then those with the lowest round trip
//   are kept: the highest round trips move, as in the load rule); the others
//   move, in the load rule's order (highest round trip, then lowest host id),
//   each to the first entry of its own list whose server is below its target.
// - An agent whose list names no server below its target stays where it is
//   (`stranded`): the zone needs more room than max_agents per server gives,
//   or its list leaves out the servers with room.
// Moves are the fewest possible for these targets: an agent moves only off a
// server holding more than its target.

#include "common/lb/zone_load.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::lb {

struct DensityPlan {
    // Per agent of ZoneLoad::agents (same index): where it should be (its
    // `current` or the entry of its list it moves to); nothing for an agent
    // the fill leaves alone (on a server that does not count, or unknown).
    std::vector<std::optional<std::string>> targets;
    std::vector<Move> moves;
    // Agents that should move but whose list offers no server with room.
    std::int64_t stranded = 0;
};

// `max_agents` is at least 1 (the key's validation; a smaller value is read as 1).
DensityPlan plan_density(const ZoneLoad& zone, std::int64_t max_agents);

}  // namespace agentlb::lb
