#include "tools/agentlbctl/time_format.hpp"

#include "common/util/rfc3339.hpp"

namespace agentlb::ctl {

std::string format_time_or_never(std::int64_t unix_seconds) {
    return unix_seconds == 0 ? "never" : util::format_rfc3339(unix_seconds);
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

}  // namespace agentlb::ctl
