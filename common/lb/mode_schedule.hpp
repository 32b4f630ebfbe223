#pragma once

// The rebalancer's modes (`agentlb.mode`) and their schedule
// (`agentlb.mode.schedule`), both registered as keys in issue 15's next step.
//
// Schedule grammar (times in UTC):
//   schedule := "" | rule (";" rule)*
//   rule     := [days] [times] mode
//   days     := day-item ("," day-item)*      day-item := DAY | DAY "-" DAY
//   DAY      := Mon | Tue | Wed | Thu | Fri | Sat | Sun   (exactly so)
//   times    := HH:MM "-" HH:MM                (00:00..23:59; the end may be 24:00)
//   mode     := performance | density
// Blanks separate the parts and may surround ',' and '-'. A day range may
// wrap (Fri-Mon = Fri, Sat, Sun, Mon). A time range includes its start and
// excludes its end; one whose end is before its start runs overnight and
// belongs to the day it starts on (Fri 22:00-06:00 is Friday 22:00 to
// Saturday 06:00). No days = every day; no times = the whole day. The first
// rule that matches wins; a rule with neither days nor times matches always
// and must be the last. When no rule matches (or the schedule is empty),
// `agentlb.mode` applies.
//
// Example: "Mon-Fri 08:00-20:00 performance; density".

#include "common/util/result.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace agentlb::lb {

enum class Mode { performance, density };

inline constexpr std::string_view kDefaultMode = "performance";

// Exact names only: the message lists them.
Result<Mode> parse_mode(std::string_view value);
std::string_view mode_name(Mode mode);

struct ScheduleRule {
    std::array<bool, 7> days{};  // Monday first; all true when the rule names no days
    // Minutes since midnight UTC, [start, end); end < start runs overnight;
    // nothing = the whole day.
    struct Times {
        int start = 0;
        int end = 0;
    };
    std::optional<Times> times;
    Mode mode = Mode::performance;
};

struct Schedule {
    std::vector<ScheduleRule> rules;
};

// Messages name the rule by its number and text, and the part that is wrong.
Result<Schedule> parse_schedule(std::string_view value);

struct ScheduledMode {
    Mode mode;
    std::size_t rule;  // index into Schedule::rules
};

// The mode the schedule gives at `now`; nothing when no rule matches.
std::optional<ScheduledMode> scheduled_mode(const Schedule& schedule,
                                            std::chrono::system_clock::time_point now);

}  // namespace agentlb::lb
