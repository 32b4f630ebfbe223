// One management server cut off from PostgreSQL while its agents still reach
// it: past agentlb.store.unreachable.limit it stops serving and its agents
// move to the servers that see the shared configuration.

#include "tests/e2e/machine_room.hpp"
#include "tests/e2e/multi_machine_checks.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

TEST_CASE(
    "multi-machine: one server cut off from PostgreSQL stops serving after the limit and its agents move") {
    if (cannot_run("multi-machine store path cut")) {
        return;
    }
    constexpr int kLimit = 3;
    MachineRoom room(on_postgresql({{"agentlb.store.unreachable.limit", std::to_string(kLimit)}}));
    const auto victims = room.placement({0});
    INFO(describe(room.placement()));
    REQUIRE(!victims.empty());
    REQUIRE(serving(room, 0) == std::optional<bool>(true));

    // A firewall between ms1 and the database, both ways; ms1 still reaches
    // the agents and they it.
    room.server_ns(0).drop_to(MachineRoom::kDatabaseIp);
    room.database_ns().drop_to(MachineRoom::server_ip(0));
    const auto cut = Clock::now();

    const bool stopped =
        wait_until([&] { return serving(room, 0) == std::optional<bool>(false); }, 30s, 100ms);
    const auto stopped_after = Clock::now() - cut;
    INFO(room.logs());
    REQUIRE(stopped);
    // Not before the limit.
    CHECK(stopped_after >= std::chrono::seconds(kLimit));
    CHECK(room.healthz(0) == 503);

    // Its agents went to the servers that see the shared configuration, and
    // none is lost: each is connected exactly once, and recorded there.
    const bool moved = wait_until([&] { return every_agent_once(room, {1, 2}); }, 15s, 100ms);
    INFO(describe(room.placement()));
    REQUIRE(moved);
    // Make-before-break: ms1 closes each old session a moment after the
    // agent is up elsewhere.
    CHECK(wait_until([&] { return room.placement({0}).empty(); }, 10s, 100ms));
    CHECK(wait_until([&] { return store_agrees(room, {1, 2}); }, 5s, 50ms));
    // The others were never disturbed.
    for (int a = 0; a < room.agent_count(); ++a) {
        if (victims.count(MachineRoom::agent_name(a)) == 0) {
            CHECK(room.agent_log_count(a, "lost the connection") == 0);
        }
    }
    // A config change still reaches everyone (they are all on servers that see it).
    room.set_config("indirect.agent.lb.algorithm", "static");
    CHECK(wait_until([&] { return everyone_holds(room, "static"); }, 5s, 50ms));

    // The path back: ms1 serves again.
    room.server_ns(0).undrop(MachineRoom::kDatabaseIp);
    room.database_ns().undrop(MachineRoom::server_ip(0));
    CHECK(wait_until(
        [&] { return serving(room, 0) == std::optional<bool>(true) && room.healthz(0) == 200; }, 30s, 200ms));
}
