#pragma once

// `ca init`, `ca import` and `ca show`.

#include "tools/agentlbctl/command.hpp"

#include <vector>

namespace agentlb::ctl {

std::vector<Command> ca_commands();

}  // namespace agentlb::ctl
