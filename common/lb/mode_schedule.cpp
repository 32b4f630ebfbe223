#include "common/lb/mode_schedule.hpp"

#include "common/lb/text.hpp"

#include <algorithm>
#include <string>

namespace agentlb::lb {
namespace {

using detail::quoted;

struct NamedMode {
    Mode mode;
    std::string_view name;
};

constexpr std::array<NamedMode, 2> kModes{{{Mode::performance, "performance"}, {Mode::density, "density"}}};

constexpr std::array<std::string_view, 7> kDays{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

constexpr std::string_view kBlanks = " \t";
constexpr int kMinutesPerDay = 24 * 60;

bool is_blank(char c) {
    return kBlanks.find(c) != std::string_view::npos;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const std::size_t at = text.find(separator, start);
        parts.push_back(
            text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
        if (at == std::string_view::npos) {
            return parts;
        }
        start = at + 1;
    }
}

// Blank-separated words, where blanks around ',' and '-' do not separate
// ("Mon - Fri" is the word "Mon-Fri").
std::vector<std::string> words_of(std::string_view text) {
    std::string joined;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (!is_blank(c)) {
            joined += c;
            continue;
        }
        const std::size_t next = text.find_first_not_of(kBlanks, i);
        const bool before_joiner = next != std::string_view::npos && (text[next] == ',' || text[next] == '-');
        const bool after_joiner = !joined.empty() && (joined.back() == ',' || joined.back() == '-');
        if (!before_joiner && !after_joiner && !joined.empty() && joined.back() != ' ') {
            joined += ' ';
        }
        i = (next == std::string_view::npos ? text.size() : next) - 1;
    }
    std::vector<std::string> words;
    for (std::string_view word : split(joined, ' ')) {
        if (!word.empty()) {
            words.emplace_back(word);
        }
    }
    return words;
}

Result<std::size_t> parse_day(std::string_view text) {
    const auto it = std::find(kDays.begin(), kDays.end(), text);
    if (it == kDays.end()) {
        return fail(quoted(text) + " is not a day; expected Mon, Tue, Wed, Thu, Fri, Sat or Sun");
    }
    return static_cast<std::size_t>(it - kDays.begin());
}

Result<std::array<bool, 7>> parse_days(std::string_view text) {
    std::array<bool, 7> days{};
    for (std::string_view item : split(text, ',')) {
        if (item.empty()) {
            return fail("the days " + quoted(text) +
                        " hold an empty item; expected DAY or DAY-DAY separated by ','");
        }
        const auto ends = split(item, '-');
        if (ends.size() > 2) {
            return fail(quoted(item) + " is not a day or a range of days; expected DAY or DAY-DAY");
        }
        auto first = parse_day(ends.front());
        if (!first) {
            return fail(first.error());
        }
        auto last = parse_day(ends.back());
        if (!last) {
            return fail(last.error());
        }
        // A range may wrap past Sunday: Fri-Mon.
        for (std::size_t day = *first;; day = (day + 1) % 7) {
            days[day] = true;
            if (day == *last) {
                break;
            }
        }
    }
    return days;
}

// HH:MM, two digits each; 24:00 only when `end_of_day`.
Result<int> parse_clock(std::string_view text, bool end_of_day) {
    const std::string expected = end_of_day ? "00:01 to 24:00" : "00:00 to 23:59";
    const bool shaped = text.size() == 5 && text[2] == ':' && detail::all_digits(text.substr(0, 2)) &&
                        detail::all_digits(text.substr(3, 2));
    if (shaped) {
        const int hours = (text[0] - '0') * 10 + (text[1] - '0');
        const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
        const int total = hours * 60 + minutes;
        if (minutes < 60 && (total < kMinutesPerDay || (end_of_day && total == kMinutesPerDay))) {
            return total;
        }
    }
    return fail(quoted(text) + " is not a time of day; expected HH:MM from " + expected);
}

Result<ScheduleRule::Times> parse_times(std::string_view text) {
    const auto ends = split(text, '-');
    if (ends.size() != 2) {
        return fail(quoted(text) + " is not a time range; expected HH:MM-HH:MM");
    }
    auto start = parse_clock(ends[0], false);
    if (!start) {
        return fail(start.error());
    }
    auto end = parse_clock(ends[1], true);
    if (!end) {
        return fail(end.error());
    }
    if (*start == *end || (*start == 0 && *end == kMinutesPerDay)) {
        return fail("the time range " + quoted(text) + " covers " +
                    (*start == *end ? std::string("nothing (it ends where it starts)") : "the whole day") +
                    "; leave the times out for the whole day");
    }
    return ScheduleRule::Times{*start, *end};
}

bool is_mode_name(std::string_view word) {
    return std::any_of(
        kModes.begin(), kModes.end(), [word](const NamedMode& named) { return named.name == word; });
}

Result<ScheduleRule> parse_rule(std::string_view text) {
    const std::vector<std::string> words = words_of(text);
    if (words.empty()) {
        return fail("the rule is empty; rules are separated by ';' and each ends with a mode");
    }
    auto mode = parse_mode(words.back());
    if (!mode) {
        return fail(mode.error() + " (a rule ends with its mode)");
    }
    ScheduleRule rule;
    rule.mode = *mode;
    rule.days.fill(true);
    bool have_days = false;
    for (std::size_t i = 0; i + 1 < words.size(); ++i) {
        const std::string& word = words[i];
        if (is_mode_name(word)) {
            return fail("more than one mode; expected [days] [times] mode");
        }
        if (word.find(':') != std::string::npos) {
            if (rule.times) {
                return fail("more than one time range; expected [days] [times] mode");
            }
            auto times = parse_times(word);
            if (!times) {
                return fail(times.error());
            }
            rule.times = *times;
            continue;
        }
        if (rule.times) {
            return fail("days after the times; expected [days] [times] mode");
        }
        if (have_days) {
            return fail("more than one list of days (" + quoted(word) +
                        "); separate days with ','; expected [days] [times] mode");
        }
        auto days = parse_days(word);
        if (!days) {
            return fail(days.error());
        }
        rule.days = *days;
        have_days = true;
    }
    return rule;
}

bool always(const ScheduleRule& rule) {
    return !rule.times && std::all_of(rule.days.begin(), rule.days.end(), [](bool day) { return day; });
}

bool matches(const ScheduleRule& rule, std::size_t day, int minute) {
    if (!rule.times) {
        return rule.days[day];
    }
    const auto [start, end] = *rule.times;
    if (start < end) {
        return rule.days[day] && minute >= start && minute < end;
    }
    // Overnight: the evening of a named day, or the morning after one.
    const std::size_t previous = (day + 6) % 7;
    return (rule.days[day] && minute >= start) || (rule.days[previous] && minute < end);
}

}  // namespace

Result<Mode> parse_mode(std::string_view value) {
    std::string allowed;
    for (const NamedMode& named : kModes) {
        if (value == named.name) {
            return named.mode;
        }
        allowed += allowed.empty() ? "" : ", ";
        allowed += named.name;
    }
    return fail("unknown mode " + quoted(value) + "; expected one of: " + allowed);
}

std::string_view mode_name(Mode mode) {
    return mode == Mode::density ? "density" : "performance";
}

Result<Schedule> parse_schedule(std::string_view value) {
    Schedule schedule;
    if (detail::trim(value, kBlanks).empty()) {
        return schedule;
    }
    const auto texts = split(value, ';');
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const std::string_view text = detail::trim(texts[i], kBlanks);
        const std::string name = "rule " + std::to_string(i + 1) + (text.empty() ? "" : " " + quoted(text));
        auto rule = parse_rule(text);
        if (!rule) {
            return fail(name + ": " + rule.error());
        }
        if (always(*rule) && i + 1 < texts.size()) {
            return fail(name +
                        ": it applies at all times, so the rules after it would never apply; put it last");
        }
        schedule.rules.push_back(*rule);
    }
    return schedule;
}

std::optional<ScheduledMode> scheduled_mode(const Schedule& schedule,
                                            std::chrono::system_clock::time_point now) {
    using namespace std::chrono;
    const sys_days today = floor<days>(now);
    const std::size_t day = weekday(today).iso_encoding() - 1;
    const int minute = static_cast<int>(duration_cast<minutes>(now - today).count());
    for (std::size_t i = 0; i < schedule.rules.size(); ++i) {
        if (matches(schedule.rules[i], day, minute)) {
            return ScheduledMode{schedule.rules[i].mode, i};
        }
    }
    return std::nullopt;
}

}  // namespace agentlb::lb
