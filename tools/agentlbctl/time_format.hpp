#pragma once

// Times as the store keeps them (unix seconds) shown to people and programs.

#include <cstdint>
#include <string>

namespace agentlb::ctl {

// The store uses 0 for "never": "never" for a table, otherwise RFC 3339
// (util::format_rfc3339).
std::string format_time_or_never(std::int64_t unix_seconds);

// A rough age for people: "12 s", "5 min", "3 h", "2 d"; "in the future" when
// the clock of whoever wrote the time is ahead.
std::string format_age(std::int64_t seconds);

}  // namespace agentlb::ctl
