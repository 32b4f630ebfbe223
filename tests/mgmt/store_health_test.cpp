#include "mgmt/store_health.hpp"

#include <catch2/catch.hpp>

using namespace agentlb::mgmt;
using namespace std::chrono_literals;

TEST_CASE("StoreHealth: healthy after a read, unhealthy with the error, again healthy after a read") {
    const auto t0 = StoreHealth::Clock::time_point{} + 1h;
    StoreHealth health(t0, 30s);
    CHECK_FALSE(health.problem(t0 + 1s).has_value());
    CHECK_FALSE(health.record_success(t0 + 1s));

    CHECK(health.record_failure("no such table: generation", t0 + 2s) == StoreHealth::Failure::began);
    // Same reason: no news.
    CHECK(health.record_failure("no such table: generation", t0 + 3s) == StoreHealth::Failure::same);
    CHECK(health.problem(t0 + 3s) ==
          std::optional<std::string>("the store cannot be read: no such table: generation"));
    CHECK(health.record_failure("database is locked", t0 + 4s) == StoreHealth::Failure::new_reason);

    CHECK(health.record_success(t0 + 5s));
    CHECK_FALSE(health.problem(t0 + 5s).has_value());
}

TEST_CASE("StoreHealth: no answer for longer than the limit is unhealthy even without an error") {
    const auto t0 = StoreHealth::Clock::time_point{} + 1h;
    StoreHealth health(t0, 30s);
    CHECK_FALSE(health.problem(t0 + 30s).has_value());
    CHECK(health.problem(t0 + 31s) == std::optional<std::string>("the store has not answered for 31 s"));
    health.record_success(t0 + 32s);
    CHECK_FALSE(health.problem(t0 + 33s).has_value());
}

TEST_CASE("StoreHealth: how long the store has been unreachable counts from its last successful read") {
    const auto t0 = StoreHealth::Clock::time_point{} + 1h;
    StoreHealth health(t0, 30s);
    CHECK_FALSE(health.unreachable_for(t0 + 5s).has_value());
    health.record_failure("connection refused", t0 + 7s);
    CHECK(health.unreachable_for(t0 + 9s) == std::optional<StoreHealth::Clock::duration>(9s));
    CHECK(health.record_success(t0 + 10s));
    CHECK_FALSE(health.unreachable_for(t0 + 10s).has_value());
    // A store that does not answer at all (a cut network) counts too.
    CHECK(health.unreachable_for(t0 + 41s) == std::optional<StoreHealth::Clock::duration>(31s));
}
