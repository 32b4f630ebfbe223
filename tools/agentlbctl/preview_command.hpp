#pragma once

// `preview`: the lists the servers would send, for the stored configuration
// or a proposed one, changing nothing.

#include "tools/agentlbctl/command.hpp"
#include "tools/agentlbctl/preview.hpp"

#include <string>
#include <vector>

namespace agentlb::ctl {

std::vector<Command> preview_commands();

// Text for people. `registered`: the hosts came from the store (shown with
// names, grouped per zone); otherwise one "ID: a,b,c" line per id.
std::string render_preview(const Preview& preview, bool registered, std::string_view algorithm_name);

}  // namespace agentlb::ctl
