#pragma once

// `host list`, `host set NAME` (zone, cluster) and `host remove NAME`.

#include "common/store/store.hpp"
#include "tools/agentlbctl/command.hpp"
#include "tools/agentlbctl/output.hpp"

#include <vector>

namespace agentlb::ctl {

std::vector<Command> host_commands();

// {"id", "name", "zone", "connected_to" (or null), "last_seen" (RFC 3339 or null)}
Json host_json(const store::HostRecord& host);

}  // namespace agentlb::ctl
