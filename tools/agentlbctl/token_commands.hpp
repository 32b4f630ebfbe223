#pragma once

// `token create`.

#include "tools/agentlbctl/command.hpp"

#include <cstdint>
#include <vector>

namespace agentlb::ctl {

inline constexpr std::int64_t kDefaultTokenTtlSeconds = 3600;
inline constexpr std::int64_t kMaxTokenTtlSeconds = 365 * 86400;

// The join token's lifetime: --ttl SECONDS (1..kMaxTokenTtlSeconds), else the default.
Result<std::int64_t> token_ttl(const CommandArgs& args);

std::vector<Command> token_commands();

}  // namespace agentlb::ctl
