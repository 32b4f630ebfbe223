#pragma once

// `token create`.

#include "tools/agentlbctl/command.hpp"

#include <cstdint>
#include <vector>

namespace agentlb::ctl {

inline constexpr std::int64_t kDefaultTokenTtlSeconds = 3600;
inline constexpr std::int64_t kMaxTokenTtlSeconds = 365 * 86400;

std::vector<Command> token_commands();

}  // namespace agentlb::ctl
