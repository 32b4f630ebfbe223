// Modes and their schedule (common/lb/mode_schedule): the grammar, its
// errors, and which mode applies at an injected time (UTC).

#include "common/lb/mode_schedule.hpp"

#include <catch2/catch.hpp>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using namespace agentlb::lb;
using namespace std::chrono;

namespace {

// 2024-01-01 was a Monday.
system_clock::time_point at(int day_of_january, int hour, int minute) {
    return sys_days{year{2024} / January / day_of_january} + hours(hour) + minutes(minute);
}
constexpr int kMon = 1, kTue = 2, kWed = 3, kThu = 4, kFri = 5, kSat = 6, kSun = 7;

Schedule parsed(std::string_view text) {
    auto schedule = parse_schedule(text);
    INFO(text);
    REQUIRE(schedule.ok());
    return *schedule;
}

std::optional<Mode> mode_at(const Schedule& schedule, system_clock::time_point when) {
    auto found = scheduled_mode(schedule, when);
    return found ? std::optional<Mode>(found->mode) : std::nullopt;
}

std::string schedule_refusal(std::string_view text) {
    auto schedule = parse_schedule(text);
    INFO(text);
    REQUIRE_FALSE(schedule.ok());
    return schedule.error();
}

}  // namespace

TEST_CASE("mode: names parse exactly") {
    CHECK(*parse_mode("performance") == Mode::performance);
    CHECK(*parse_mode("density") == Mode::density);
    CHECK(*parse_mode(kDefaultMode) == Mode::performance);
    CHECK(mode_name(Mode::density) == "density");
    for (const char* bad : {"", "Density", "dense", " density"}) {
        INFO(bad);
        auto mode = parse_mode(bad);
        REQUIRE_FALSE(mode.ok());
        CHECK_THAT(mode.error(), Contains("expected one of: performance, density"));
    }
}

TEST_CASE("schedule: working hours in performance, the rest in density") {
    const Schedule schedule = parsed("Mon-Fri 08:00-20:00 performance; density");
    REQUIRE(schedule.rules.size() == 2);
    CHECK(mode_at(schedule, at(kMon, 8, 0)) == Mode::performance);
    CHECK(scheduled_mode(schedule, at(kMon, 8, 0))->rule == 0);
    CHECK(mode_at(schedule, at(kMon, 7, 59)) == Mode::density);
    CHECK(scheduled_mode(schedule, at(kMon, 7, 59))->rule == 1);
    CHECK(mode_at(schedule, at(kWed, 12, 30)) == Mode::performance);
    CHECK(mode_at(schedule, at(kFri, 19, 59)) == Mode::performance);
    CHECK(mode_at(schedule, at(kFri, 20, 0)) == Mode::density);
    CHECK(mode_at(schedule, at(kSat, 12, 0)) == Mode::density);
    CHECK(mode_at(schedule, at(kSun, 9, 0)) == Mode::density);
    // Seconds within the minute count too: 19:59:59 is still inside.
    CHECK(mode_at(schedule, at(kFri, 19, 59) + seconds(59)) == Mode::performance);
}

TEST_CASE("schedule: an overnight range belongs to the day it starts on") {
    const Schedule schedule = parsed("Fri 22:00-06:00 density; performance");
    CHECK(mode_at(schedule, at(kFri, 21, 59)) == Mode::performance);
    CHECK(mode_at(schedule, at(kFri, 22, 0)) == Mode::density);
    CHECK(mode_at(schedule, at(kFri, 23, 59)) == Mode::density);
    CHECK(mode_at(schedule, at(kSat, 0, 0)) == Mode::density);
    CHECK(mode_at(schedule, at(kSat, 5, 59)) == Mode::density);
    CHECK(mode_at(schedule, at(kSat, 6, 0)) == Mode::performance);
    CHECK(mode_at(schedule, at(kSat, 22, 30)) == Mode::performance);
    // Friday morning is Thursday night's, and Thursday is not named.
    CHECK(mode_at(schedule, at(kFri, 3, 0)) == Mode::performance);
    // Every day: Sunday night runs into Monday morning.
    const Schedule nightly = parsed("22:00-06:00 density");
    CHECK(mode_at(nightly, at(kMon, 2, 0)) == Mode::density);
    CHECK(mode_at(nightly, at(kMon, 12, 0)) == std::nullopt);
}

TEST_CASE("schedule: days by lists, ranges and ranges that wrap past Sunday") {
    const Schedule weekend = parsed("Sat,Sun density; performance");
    CHECK(mode_at(weekend, at(kSat, 0, 0)) == Mode::density);
    CHECK(mode_at(weekend, at(kSun, 23, 59)) == Mode::density);
    CHECK(mode_at(weekend, at(kMon, 0, 0)) == Mode::performance);

    const Schedule mixed = parsed("Mon,Wed-Thu density");
    CHECK(mode_at(mixed, at(kMon, 10, 0)) == Mode::density);
    CHECK(mode_at(mixed, at(kTue, 10, 0)) == std::nullopt);
    CHECK(mode_at(mixed, at(kWed, 10, 0)) == Mode::density);
    CHECK(mode_at(mixed, at(kThu, 10, 0)) == Mode::density);
    CHECK(mode_at(mixed, at(kFri, 10, 0)) == std::nullopt);

    const Schedule wrap = parsed("Fri-Mon density");
    for (int day : {kFri, kSat, kSun, kMon}) {
        CHECK(mode_at(wrap, at(day, 10, 0)) == Mode::density);
    }
    for (int day : {kTue, kWed, kThu}) {
        CHECK(mode_at(wrap, at(day, 10, 0)) == std::nullopt);
    }
}

TEST_CASE("schedule: blanks around the parts, ',' and '-' are allowed") {
    const Schedule schedule = parsed("  Mon - Fri ,  Sun\t08:00 - 20:00   performance ;\tdensity  ");
    REQUIRE(schedule.rules.size() == 2);
    CHECK(mode_at(schedule, at(kSun, 9, 0)) == Mode::performance);
    CHECK(mode_at(schedule, at(kSat, 9, 0)) == Mode::density);
}

TEST_CASE("schedule: the first rule that matches wins, and no match or no schedule gives nothing") {
    const Schedule schedule = parsed("Mon 08:00-12:00 density; Mon-Fri 08:00-20:00 performance");
    CHECK(mode_at(schedule, at(kMon, 9, 0)) == Mode::density);
    CHECK(mode_at(schedule, at(kMon, 13, 0)) == Mode::performance);
    CHECK(mode_at(schedule, at(kSat, 13, 0)) == std::nullopt);
    for (const char* empty : {"", "  ", "\t"}) {
        const Schedule none = parsed(empty);
        CHECK(none.rules.empty());
        CHECK_FALSE(scheduled_mode(none, at(kMon, 9, 0)));
    }
}

TEST_CASE("schedule: a range may end at 24:00, the end of the day") {
    const Schedule schedule = parsed("18:00-24:00 density; performance");
    CHECK(mode_at(schedule, at(kTue, 23, 59)) == Mode::density);
    CHECK(mode_at(schedule, at(kWed, 0, 0)) == Mode::performance);
}

TEST_CASE("schedule: dates before 1970 and far ahead fall on the right weekday") {
    const Schedule schedule = parsed("Mon density");
    // 1969-12-29 and 2100-01-04 were and will be Mondays.
    CHECK(mode_at(schedule, sys_days{year{1969} / December / 29} + hours(1)) == Mode::density);
    CHECK(mode_at(schedule, sys_days{year{1969} / December / 28} + hours(1)) == std::nullopt);
    CHECK(mode_at(schedule, sys_days{year{2100} / January / 4} + hours(23)) == Mode::density);
}

TEST_CASE("schedule: bad parts are refused, naming the rule and the part") {
    CHECK_THAT(schedule_refusal("mon-fri 08:00-20:00 performance"),
               StartsWith("rule 1 \"mon-fri 08:00-20:00 performance\": \"mon\" is not a day"));
    CHECK_THAT(schedule_refusal("Mon-Fri 08:00-20:00 performance; Sat, Sunday density; density"),
               StartsWith("rule 2 \"Sat, Sunday density\": \"Sunday\" is not a day; expected Mon, Tue"));
    CHECK_THAT(schedule_refusal("Mon-Fri 25:00-26:00 performance"),
               Contains("\"25:00\" is not a time of day; expected HH:MM from 00:00 to 23:59"));
    CHECK_THAT(schedule_refusal("Mon-Fri 08:00-24:01 performance"),
               Contains("\"24:01\" is not a time of day; expected HH:MM from 00:01 to 24:00"));
    CHECK_THAT(schedule_refusal("24:00-06:00 density"), Contains("\"24:00\" is not a time of day"));
    CHECK_THAT(schedule_refusal("8:00-20:00 performance"), Contains("\"8:00\" is not a time of day"));
    CHECK_THAT(schedule_refusal("08:60-20:00 performance"), Contains("\"08:60\" is not a time of day"));
    CHECK_THAT(schedule_refusal("08:00 performance"),
               Contains("\"08:00\" is not a time range; expected HH:MM-HH:MM"));
    CHECK_THAT(schedule_refusal("08:00-12:00-14:00 density"), Contains("is not a time range"));
    CHECK_THAT(schedule_refusal("08:00-08:00 density"), Contains("covers nothing (it ends where it starts)"));
    CHECK_THAT(schedule_refusal("Sat 00:00-24:00 density"),
               Contains("covers the whole day; leave the times out"));
    CHECK_THAT(schedule_refusal("Mon-Fri 08:00-20:00 fast"),
               Contains("rule 1 \"Mon-Fri 08:00-20:00 fast\": unknown mode \"fast\""));
    CHECK_THAT(schedule_refusal("Mon-Fri 08:00-20:00"), Contains("unknown mode \"08:00-20:00\""));
    CHECK_THAT(schedule_refusal("Mon-Fri 08:00-20:00 performance density"), Contains("more than one mode"));
    CHECK_THAT(schedule_refusal("08:00-20:00 Mon-Fri performance"), Contains("days after the times"));
    CHECK_THAT(schedule_refusal("Mon 08:00-10:00 12:00-14:00 density"), Contains("more than one time range"));
    CHECK_THAT(schedule_refusal("Mon Tue density"), Contains("more than one list of days (\"Tue\")"));
    CHECK_THAT(schedule_refusal("Mon,,Tue density"), Contains("the days \"Mon,,Tue\" hold an empty item"));
    CHECK_THAT(schedule_refusal("Mon-Tue-Wed density"),
               Contains("\"Mon-Tue-Wed\" is not a day or a range of days"));
    CHECK_THAT(schedule_refusal("Mon-Fri 08:00-20:00 performance;"), StartsWith("rule 2: the rule is empty"));
    CHECK_THAT(schedule_refusal("; density"), StartsWith("rule 1: the rule is empty"));
    CHECK_THAT(
        schedule_refusal("density; Mon-Fri 08:00-20:00 performance"),
        StartsWith("rule 1 \"density\": it applies at all times, so the rules after it would never apply"));
    CHECK_THAT(schedule_refusal("Mon-Sun performance; density"), Contains("it applies at all times"));
    // What the operator typed is shown safely.
    CHECK_THAT(schedule_refusal("Mon\x1b[31m density"), Contains("\\x1b"));
}
