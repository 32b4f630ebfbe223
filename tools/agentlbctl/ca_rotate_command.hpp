#pragma once

// `ca rotate`: a new CA cross-signed by the current one, renewing every
// certificate from it (`--reissue-all`), and forgetting the old CA once
// nothing uses it (`--finish`). docs/PRODUCTION.md "Rotating the CA".

#include "tools/agentlbctl/command.hpp"

#include <vector>

namespace agentlb::ctl {

std::vector<Command> ca_rotate_commands();

}  // namespace agentlb::ctl
