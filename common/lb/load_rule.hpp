#pragma once

// The load-aware rebalancer's rule (performance mode): each server's weighted
// fair share of its zone's connected agents, which servers are over it, and
// the fewest moves that bring them back down. Pure: the caller feeds a
// `ZoneLoad`, decides when to act (`LoadTracker`), and paces the moves.
//
// Model (docs/DESIGN.md, "Load-aware rebalancer"):
// - N = agents connected to servers that count; W = sum of the weights of the
//   servers that count (every such server weighs 1 when they all weigh 0).
//   share_s = N * w_s / W. Kept as the exact fraction (N*w_s)/W: every
//   comparison below is done in whole numbers.
// - excess_s = floor(count_s - share_s): the whole agents s holds above its
//   share, 0 when it holds no more than its share.
// - s is over when count_s > share_s * (1 + t) and excess_s >= 1.
// - s is settled when count_s < share_s * (1 + t/2) or excess_s < 1 (the
//   tracker re-arms a server only once it is settled).
// - A move takes an agent from an over server to the first entry of the
//   agent's own list that takes agents and holds fewer than its share.

#include "common/lb/zone_load.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace agentlb::lb {

struct ServerLoad {
    std::string address;     // as in ZoneServer
    std::int64_t count = 0;  // agents connected to it (counted also when it does not count)
    // Its fair share, in agents: share_numerator / share_denominator (N*w / W).
    std::int64_t share_numerator = 0;
    std::int64_t share_denominator = 1;
    bool counts = false;        // up and not in maintenance
    bool takes_agents = false;  // counts and has a weight (see ZoneServer::weight)
    std::int64_t excess = 0;    // whole agents above its share
    bool over = false;
    bool settled = true;

    double share() const {
        return static_cast<double>(share_numerator) / static_cast<double>(share_denominator);
    }
};

// One entry per distinct server of `zone.servers`, in their order.
// `threshold_permille`: BehaviourSettings::threshold_permille (0 or more).
std::vector<ServerLoad> assess_load(const ZoneLoad& zone, std::int64_t threshold_permille);

// The moves that bring the over servers named in `shedding` (addresses,
// compared with `same_endpoint`; what `LoadTracker::update` returned) down to
// their share, not below: at most `excess` agents from each. Agents are taken
// by highest round trip first (those that reported none last), then by lowest
// host id; each goes to the first entry of its own list that takes agents and
// holds fewer agents than its share at that point of the plan (so it ends with
// less than one agent above its share: never over). An agent whose list offers
// no such entry stays. A server in `shedding` that is no longer over sheds
// nothing. Deterministic: the same input gives the same moves in the same order.
std::vector<Move> plan_load_moves(const ZoneLoad& zone,
                                  std::int64_t threshold_permille,
                                  const std::vector<std::string>& shedding);

// The same, every over server shedding (no hold: for previews and tests).
std::vector<Move> plan_load_moves(const ZoneLoad& zone, std::int64_t threshold_permille);

}  // namespace agentlb::lb
