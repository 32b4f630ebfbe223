#pragma once

// `mgmt list`, `mgmt maintenance`, `mgmt cancel-maintenance`.

#include "common/store/store.hpp"
#include "tools/agentlbctl/command.hpp"
#include "tools/agentlbctl/output.hpp"

#include <cstdint>
#include <vector>

namespace agentlb::ctl {

std::vector<Command> mgmt_commands();

// {"name", "address", "state" (judged with server_liveness: up, preparing,
// maintenance or down), "maintenance" (the operator's request), "last_heartbeat"
// (RFC 3339 or null), "agents"}
Json server_json(const store::ServerRecord& server, std::int64_t now);

}  // namespace agentlb::ctl
