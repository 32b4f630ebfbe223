#pragma once

// `ca show`: the CA certificate recorded in the store, with its fingerprint,
// subject and validity.

#include "tools/agentlbctl/command.hpp"

namespace agentlb::ctl {

int run_ca_show(Context& context, const CommandArgs& args);

}  // namespace agentlb::ctl
