#pragma once

// The zone metrics' arithmetic (agentlb_zone_agents, agentlb_zone_imbalance):
// which server exports them, which servers a zone's imbalance counts, and the
// imbalance itself. Pure: the store's counts and server rows in, numbers out.

#include "common/store/store.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::mgmt {

// server name -> connected agents (of one zone).
using ServerCounts = std::map<std::string, std::int64_t, std::less<>>;

// The one server that exports the zone series, so that a sum over every
// server's /metrics counts each agent once: the lowest-named (byte order)
// server that is up and not asked into maintenance. Nothing when none is.
std::optional<std::string> zone_metrics_exporter(const std::vector<store::ServerRecord>& servers);

// The servers a zone's agents may use: up, not asked into maintenance, and
// named (by address) in the `host` list; every such server when `hosts` names
// none of them (or is empty). By name.
std::vector<std::string> usable_servers(const std::vector<store::ServerRecord>& servers,
                                        const std::vector<std::string>& hosts);

// max/mean of the agents per server over `usable` plus every server that
// holds an agent of the zone (a draining server still holding some counts
// until they have left; one in maintenance holds none and is not usable, so
// it never makes the zone look unbalanced). 1 = even; 0 without agents.
double zone_imbalance(const ServerCounts& agents, const std::vector<std::string>& usable);

// What the exporter shows for one zone: every server it counts, 0 included.
struct ZoneBalance {
    ServerCounts agents;
    double imbalance = 0.0;
};

// zone -> its balance, for every zone in `counts` or `zones` (registered
// zones without a connected agent show 0 agents per usable server, imbalance 0).
std::map<std::string, ZoneBalance, std::less<>> zone_balances(
    const std::vector<store::ConnectedCount>& counts,
    const std::vector<std::string>& zones,
    const std::vector<std::string>& usable);

}  // namespace agentlb::mgmt
