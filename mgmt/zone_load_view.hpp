#pragma once

// What the load-aware rebalancer judges each zone by: the store's connection
// records (hosts' connected_to) turned into lb::ZoneLoad, with each agent's
// list as the servers compute it and the zone's effective rebalancer keys.
// Pure: the caller reads the store and the sessions.

#include "common/lb/rebalance_settings.hpp"
#include "common/lb/scoped_config.hpp"
#include "common/lb/zone_load.hpp"
#include "common/store/store.hpp"
#include "mgmt/cluster_state.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace agentlb::mgmt {

struct ZoneWork {
    std::string zone;
    lb::RebalanceSettings settings;
    lb::ZoneLoad load;
};

// Whether any scope's effective keys may have the rebalancer act (so the
// hosts need not be read when none does).
bool rebalancer_may_act(const lb::ScopedConfig& config);

// The zones of `snapshot` whose effective keys may act (a corrupt stored
// value leaves its zone out), each with its servers (the zone's effective
// `host`, weights, and whether each counts: not in the zone's avoid list)
// and its connected agents (a host whose connected_to names a registered
// server). `rtt_us`: round trips this server knows, by host id.
std::vector<ZoneWork> zone_work(const ClusterSnapshot& snapshot,
                                const lb::ScopedConfig& config,
                                const std::vector<store::HostRecord>& hosts,
                                const std::map<std::int64_t, std::int64_t>& rtt_us);

}  // namespace agentlb::mgmt
