#pragma once

#include <cstdint>
#include <string>

namespace agentlb::util {

// "2025-03-01T12:00:00Z" for a count of seconds since the Unix epoch (UTC).
std::string format_rfc3339(std::int64_t unix_seconds);

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);

}  // namespace agentlb::util
