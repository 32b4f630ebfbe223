#include "tools/agentlbctl/time_format.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace agentlb::ctl {

std::string format_rfc3339(std::int64_t unix_seconds) {
    const std::time_t seconds = static_cast<std::time_t>(unix_seconds);
    std::tm parts{};
    if (::gmtime_r(&seconds, &parts) == nullptr) {
        return std::to_string(unix_seconds);
    }
    char buffer[64];
    std::snprintf(buffer,
                  sizeof buffer,
                  "%04d-%02d-%02dT%02d:%02d:%02dZ",
                  parts.tm_year + 1900,
                  parts.tm_mon + 1,
                  parts.tm_mday,
                  parts.tm_hour,
                  parts.tm_min,
                  parts.tm_sec);
    return buffer;
}

std::string format_time_or_never(std::int64_t unix_seconds) {
    return unix_seconds == 0 ? "never" : format_rfc3339(unix_seconds);
}

std::string format_age(std::int64_t seconds) {
    if (seconds < 0) {
        return "in the future";
    }
    if (seconds < 120) {
        return std::to_string(seconds) + " s";
    }
    if (seconds < 2 * 3600) {
        return std::to_string(seconds / 60) + " min";
    }
    if (seconds < 2 * 86400) {
        return std::to_string(seconds / 3600) + " h";
    }
    return std::to_string(seconds / 86400) + " d";
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace agentlb::ctl
