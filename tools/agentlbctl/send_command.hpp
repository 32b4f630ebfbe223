#pragma once

// `send HOST --data TEXT [--wait]`: one message to a host's own agent
// software through a management server's --app-socket (issue 19), as the
// platform's management application would send it.

#include "tools/agentlbctl/command.hpp"

#include <vector>

namespace agentlb::ctl {

inline constexpr const char* kDefaultMgmtAppSocket = "/run/agentlb/mgmt-app.sock";

std::vector<Command> send_commands();

}  // namespace agentlb::ctl
