// Behaviours of the load-aware rebalancer (common/lb/behaviour).

#include "common/lb/behaviour.hpp"

#include <catch2/catch.hpp>

using Catch::Matchers::Contains;
using namespace agentlb::lb;
using namespace std::chrono_literals;

TEST_CASE("behaviour: names parse to their behaviour and back") {
    for (auto behaviour : {Behaviour::off, Behaviour::low, Behaviour::normal, Behaviour::aggressive}) {
        auto parsed = parse_behaviour(behaviour_name(behaviour));
        REQUIRE(parsed.ok());
        CHECK(*parsed == behaviour);
    }
    CHECK(behaviour_name(Behaviour::aggressive) == "aggressive");
    CHECK(*parse_behaviour(kDefaultBehaviour) == Behaviour::off);
}

TEST_CASE("behaviour: settings grow more eager from low to aggressive, and off has none") {
    CHECK_FALSE(behaviour_settings(Behaviour::off));
    const auto low = *behaviour_settings(Behaviour::low);
    const auto normal = *behaviour_settings(Behaviour::normal);
    const auto aggressive = *behaviour_settings(Behaviour::aggressive);
    CHECK(low.threshold_permille == 300);
    CHECK(low.hold == 120s);
    CHECK(low.rate == 5);
    CHECK(normal.threshold_permille == 150);
    CHECK(normal.hold == 60s);
    CHECK(normal.rate == 20);
    CHECK(aggressive.threshold_permille == 50);
    CHECK(aggressive.hold == 20s);
    CHECK(aggressive.rate == 100);
}

TEST_CASE("behaviour: anything else is refused, naming the value and the choices") {
    for (const char* bad : {"", "Normal", " normal", "normal ", "fast", "on"}) {
        INFO(bad);
        auto parsed = parse_behaviour(bad);
        REQUIRE_FALSE(parsed.ok());
        CHECK_THAT(parsed.error(), Contains("unknown behaviour"));
        CHECK_THAT(parsed.error(), Contains("off, low, normal, aggressive"));
    }
    CHECK_THAT(parse_behaviour("fast").error(), Contains("\"fast\""));
    // Control bytes are shown, not written raw.
    CHECK_THAT(parse_behaviour("low\n").error(), Contains("\"low\\x0a\""));
}
