#include "agent/connection_policy.hpp"

#include <catch2/catch.hpp>

using namespace agentlb::agent;
using std::chrono::milliseconds;

TEST_CASE("the agent's random numbers are at least 0 and below 1, and keep backoff within plus or minus 20 percent") {
    auto random = make_default_random();
    ConnectionPolicy policy{BackoffSettings{}};
    for (int i = 0; i < 200; ++i) {
        const double r = random();
        CHECK(r >= 0.0);
        CHECK(r < 1.0);
        const auto base = policy.backoff().base();
        const auto wait = policy.pass_failed(r);
        CHECK(wait >= base * 8 / 10);
        CHECK(wait <= base * 12 / 10);
        if (i % 10 == 9) {
            policy.connected();
        }
    }
}
