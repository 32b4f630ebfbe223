#pragma once

// `db version`, `db migrate` and `db copy`: the store's schema, and moving a
// whole store to another location (typically SQLite -> PostgreSQL).

#include "tools/agentlbctl/command.hpp"

#include <vector>

namespace agentlb::ctl {

std::vector<Command> db_commands();

}  // namespace agentlb::ctl
