#pragma once

// Help texts, all built from the command table so they cannot drift from it.

#include "tools/agentlbctl/command.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace agentlb::ctl {

std::string global_usage(const std::vector<Command>& commands);
std::string group_usage(std::string_view group, const std::vector<Command>& commands);
std::string command_usage(const Command& command);
// "usage: agentlbctl [--db LOCATION] [--json] config set KEY VALUE"
std::string usage_line(const Command& command);

}  // namespace agentlb::ctl
