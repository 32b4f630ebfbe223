// The pure rule of a server's drain (mgmt/drain_rule.hpp): when it drains,
// when the drain is done or out of time, a cancel, and a shutdown.

#include "mgmt/drain_rule.hpp"

#include <catch2/catch.hpp>

using namespace agentlb::mgmt;
using namespace std::chrono_literals;

namespace {

using Step = DrainRule::Step;
using Phase = DrainRule::Phase;
using Why = DrainRule::Why;
const auto t0 = DrainRule::Clock::time_point{} + 1000s;

}  // namespace

TEST_CASE("drain rule: a server without a maintenance request serves and never drains") {
    DrainRule rule;
    CHECK(rule.judge(false, 30, t0, 600) == Step::none);
    CHECK(rule.judge(false, 0, t0 + 10000s, 600) == Step::none);
    CHECK(rule.phase() == Phase::serving);
    CHECK_FALSE(rule.refusing());
    CHECK(rule.why() == Why::none);
}

TEST_CASE("drain rule: a maintenance request starts a drain that is done when no agent is left") {
    DrainRule rule;
    CHECK(rule.judge(true, 30, t0, 600) == Step::start);
    CHECK(rule.why() == Why::maintenance);
    CHECK(rule.refusing());
    CHECK(rule.deadline() == t0 + 600s);
    CHECK(rule.judge(true, 12, t0 + 1s, 600) == Step::none);
    CHECK(rule.judge(true, 0, t0 + 2s, 600) == Step::drained);
    CHECK(rule.phase() == Phase::drained);
    // Done stays done (and refusing) while the request holds.
    CHECK(rule.judge(true, 0, t0 + 3s, 600) == Step::none);
    CHECK(rule.judge(true, 1, t0 + 4000s, 600) == Step::none);
    CHECK(rule.refusing());
}

TEST_CASE("drain rule: the maintenance timeout ends a drain with agents left, and 0 means no limit") {
    DrainRule rule;
    REQUIRE(rule.judge(true, 5, t0, 2) == Step::start);
    CHECK(rule.judge(true, 5, t0 + 1999ms, 2) == Step::none);
    CHECK(rule.judge(true, 5, t0 + 2s, 2) == Step::timed_out);
    CHECK(rule.phase() == Phase::drained);

    DrainRule unlimited;
    REQUIRE(unlimited.judge(true, 5, t0, 0) == Step::start);
    CHECK_FALSE(unlimited.deadline());
    CHECK(unlimited.judge(true, 5, t0 + 100000s, 0) == Step::none);
    CHECK(unlimited.phase() == Phase::draining);
}

TEST_CASE("drain rule: a changed timeout applies to the drain in progress, counted from its start") {
    DrainRule rule;
    REQUIRE(rule.judge(true, 5, t0, 600) == Step::start);
    CHECK(rule.judge(true, 5, t0 + 10s, 5) == Step::timed_out);
}

TEST_CASE("drain rule: a cancel stops the drain at once, and a later request starts a new one") {
    DrainRule rule;
    REQUIRE(rule.judge(true, 30, t0, 600) == Step::start);
    CHECK(rule.judge(false, 20, t0 + 1s, 600) == Step::cancel);
    CHECK(rule.phase() == Phase::serving);
    CHECK_FALSE(rule.refusing());
    CHECK(rule.judge(false, 20, t0 + 2s, 600) == Step::none);
    // A cancel after the drain was done serves again too.
    CHECK(rule.judge(true, 20, t0 + 3s, 600) == Step::start);
    CHECK(rule.deadline() == t0 + 603s);
    CHECK(rule.judge(true, 0, t0 + 4s, 600) == Step::drained);
    CHECK(rule.judge(false, 0, t0 + 5s, 600) == Step::cancel);
    CHECK_FALSE(rule.refusing());
}

TEST_CASE("drain rule: a shutdown drains with its own timeout from the signal, and is never cancelled") {
    DrainRule rule;
    rule.begin_shutdown(t0, 60);
    CHECK(rule.judge(false, 30, t0 + 100ms, 600) == Step::start);
    CHECK(rule.why() == Why::shutdown);
    CHECK(rule.deadline() == t0 + 60s);
    CHECK(rule.judge(false, 30, t0 + 59s, 600) == Step::none);
    CHECK(rule.judge(false, 30, t0 + 60s, 600) == Step::timed_out);

    DrainRule emptied;
    emptied.begin_shutdown(t0, 60);
    REQUIRE(emptied.judge(false, 3, t0, 600) == Step::start);
    CHECK(emptied.judge(false, 0, t0 + 1s, 600) == Step::drained);
}

TEST_CASE("drain rule: a shutdown during a maintenance drain takes over with the shutdown timeout") {
    DrainRule rule;
    REQUIRE(rule.judge(true, 30, t0, 600) == Step::start);
    rule.begin_shutdown(t0 + 10s, 5);
    CHECK(rule.judge(true, 30, t0 + 10s, 600) == Step::start);
    CHECK(rule.why() == Why::shutdown);
    CHECK(rule.deadline() == t0 + 15s);
    // A second signal does not move the deadline (the server exits at once then).
    rule.begin_shutdown(t0 + 12s, 60);
    CHECK(rule.deadline() == t0 + 15s);
    CHECK(rule.judge(true, 30, t0 + 15s, 600) == Step::timed_out);
}

TEST_CASE("drain rule: a shutdown of a server already in maintenance is done at once") {
    DrainRule rule;
    REQUIRE(rule.judge(true, 1, t0, 600) == Step::start);
    REQUIRE(rule.judge(true, 0, t0 + 1s, 600) == Step::drained);
    rule.begin_shutdown(t0 + 5s, 60);
    CHECK(rule.judge(true, 0, t0 + 5s, 600) == Step::drained);
    CHECK(rule.why() == Why::shutdown);
}
