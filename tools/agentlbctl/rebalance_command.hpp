#pragma once

// `rebalance [--dry-run]`.

#include "common/store/store.hpp"
#include "tools/agentlbctl/command.hpp"
#include "tools/agentlbctl/preview.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace agentlb::ctl {

std::vector<Command> rebalance_commands();

// One agent a rebalance would move.
struct PlannedMove {
    std::int64_t id = 0;
    std::string host;
    std::string from;     // the server it is connected to
    std::string to;       // the server it would move to
    std::string address;  // that server's entry in `host`, as written there
};

// What the servers would do for a rebalance of every agent: for each host
// connected to a server that is up (only those act), the rebalance rule over
// its list as `preview` computes it, with the servers judged as `mgmt list`
// judges them. Ascending host id. Pure.
std::vector<PlannedMove> plan_rebalance(const Preview& preview,
                                        const std::vector<store::HostRecord>& hosts,
                                        const std::vector<store::ServerRecord>& servers,
                                        std::int64_t now);

}  // namespace agentlb::ctl
