#pragma once

// `status`: one screen for an operator — servers, agents per server, the
// configuration, hosts not connected anywhere, servers down or stale.

#include "tools/agentlbctl/command.hpp"

#include <vector>

namespace agentlb::ctl {

std::vector<Command> status_commands();

}  // namespace agentlb::ctl
