#include "common/lb/config_keys.hpp"
#include "common/lb/rebalance_settings.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <string>

using namespace agentlb::lb;

namespace {

std::string rebalance_refusal(std::string_view key, std::string_view value) {
    const auto status = validate_config(key, value);
    REQUIRE_FALSE(status.ok());
    return status.error();
}

// 2026-12-07 was a Monday.
std::chrono::system_clock::time_point monday_at(int hour) {
    using namespace std::chrono;
    return sys_days{year{2026} / December / 7} + hours(hour);
}

}  // namespace

TEST_CASE("rebalance keys: accepted values") {
    for (const char* value : {"off", "low", "normal", "aggressive"}) {
        CHECK(validate_config(kBehaviourKey, value).ok());
    }
    CHECK(validate_config(kModeKey, "performance").ok());
    CHECK(validate_config(kModeKey, "density").ok());
    CHECK(validate_config(kDensityMaxAgentsKey, "1").ok());
    CHECK(validate_config(kDensityMaxAgentsKey, "10000000").ok());
    CHECK(validate_config(kModeScheduleKey, "").ok());
    CHECK(validate_config(kModeScheduleKey, "Mon-Fri 08:00-20:00 performance; density").ok());
}

TEST_CASE("rebalance keys: refusals start with the key and say what was wrong") {
    CHECK_THAT(rebalance_refusal(kBehaviourKey, "fast"),
               Catch::StartsWith("agentlb.rebalance.behaviour: unknown behaviour \"fast\"") &&
                   Catch::Contains("off, low, normal, aggressive"));
    CHECK_THAT(rebalance_refusal(kModeKey, "Density"),
               Catch::StartsWith("agentlb.mode: ") && Catch::Contains("density"));
    CHECK_THAT(rebalance_refusal(kDensityMaxAgentsKey, "0"),
               Catch::StartsWith("agentlb.density.max.agents: \"0\" is too small"));
    CHECK_THAT(rebalance_refusal(kDensityMaxAgentsKey, "-3"),
               Catch::StartsWith("agentlb.density.max.agents: \"-3\" is not a whole number"));
    CHECK_THAT(rebalance_refusal(kDensityMaxAgentsKey, "10000001"),
               Catch::StartsWith("agentlb.density.max.agents: \"10000001\" is too large"));
    CHECK_THAT(rebalance_refusal(kDensityMaxAgentsKey, ""),
               Catch::StartsWith("agentlb.density.max.agents: the value is empty"));
    CHECK_THAT(rebalance_refusal(kModeScheduleKey, "Mon-Fry density"),
               Catch::StartsWith("agentlb.mode.schedule: "));
}

TEST_CASE("rebalance settings: defaults, stored values, and corrupt stored values name the key") {
    auto defaults = rebalance_settings_from_config({});
    REQUIRE(defaults.ok());
    CHECK(defaults->behaviour == Behaviour::off);
    CHECK(defaults->mode == Mode::performance);
    CHECK(defaults->density_max_agents == kDefaultDensityMaxAgents);
    CHECK(defaults->schedule.rules.empty());
    CHECK_FALSE(defaults->active_at(monday_at(12)));

    const std::map<std::string, std::string> stored = {{"agentlb.rebalance.behaviour", "normal"},
                                                       {"agentlb.mode", "performance"},
                                                       {"agentlb.density.max.agents", "7"},
                                                       {"agentlb.mode.schedule", "Mon 08:00-20:00 density"}};
    auto settings = rebalance_settings_from_config(stored);
    REQUIRE(settings.ok());
    CHECK(settings->behaviour == Behaviour::normal);
    CHECK(settings->density_max_agents == 7);
    CHECK(settings->mode_at(monday_at(12)) == Mode::density);
    CHECK(settings->mode_at(monday_at(21)) == Mode::performance);

    for (const auto& [key, bad] : std::map<std::string, std::string>{{"agentlb.rebalance.behaviour", "x"},
                                                                     {"agentlb.mode", "x"},
                                                                     {"agentlb.density.max.agents", "0"},
                                                                     {"agentlb.mode.schedule", "x"}}) {
        auto corrupt = rebalance_settings_from_config({{key, bad}});
        REQUIRE_FALSE(corrupt.ok());
        CHECK_THAT(corrupt.error(), Catch::StartsWith(key + " (stored value): "));
    }
}

TEST_CASE("rebalance settings: the servers act on a zone while its behaviour is on or its mode is density") {
    RebalanceSettings settings;
    CHECK_FALSE(settings.active_at(monday_at(12)));
    settings.behaviour = Behaviour::low;
    CHECK(settings.active_at(monday_at(12)));
    settings.behaviour = Behaviour::off;
    settings.mode = Mode::density;
    CHECK(settings.active_at(monday_at(12)));
    auto schedule = parse_schedule("Mon 08:00-20:00 density; performance");
    REQUIRE(schedule.ok());
    settings.mode = Mode::performance;
    settings.schedule = *schedule;
    CHECK(settings.active_at(monday_at(9)));
    CHECK_FALSE(settings.active_at(monday_at(21)));
}

TEST_CASE("the agents get check interval 0 while the rebalancer may act on them") {
    const std::map<std::string, std::string> base = {{"host", "ms1,ms2"},
                                                     {"indirect.agent.lb.check.interval", "30"}};
    auto plain = settings_from_config(base);
    REQUIRE(plain.ok());
    CHECK(plain->check_interval == 30);

    for (const auto& [key, value] :
         std::map<std::string, std::string>{{"agentlb.rebalance.behaviour", "low"},
                                            {"agentlb.mode", "density"},
                                            {"agentlb.mode.schedule", "Sat-Sun density; performance"}}) {
        INFO(key << " = " << value);
        auto stored = base;
        stored[key] = value;
        auto settings = settings_from_config(stored);
        REQUIRE(settings.ok());
        CHECK(settings->check_interval == 0);
    }
    // Settings that never act leave the check alone.
    auto stored = base;
    stored["agentlb.rebalance.behaviour"] = "off";
    stored["agentlb.mode.schedule"] = "Sat-Sun performance";
    stored["agentlb.density.max.agents"] = "3";
    auto settings = settings_from_config(stored);
    REQUIRE(settings.ok());
    CHECK(settings->check_interval == 30);

    stored["agentlb.rebalance.behaviour"] = "sometimes";
    auto corrupt = settings_from_config(stored);
    REQUIRE_FALSE(corrupt.ok());
    CHECK_THAT(corrupt.error(), Catch::StartsWith("agentlb.rebalance.behaviour (stored value): "));
}
