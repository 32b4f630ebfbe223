#pragma once

// `cert list`, `cert revoke` and `cert reissue`: certificates as objects.

#include "tools/agentlbctl/command.hpp"

#include <vector>

namespace agentlb::ctl {

std::vector<Command> cert_commands();

}  // namespace agentlb::ctl
