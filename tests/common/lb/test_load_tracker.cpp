// When the load-aware rebalancer acts (common/lb/load_tracker): the hold time
// and the hysteresis that keep it from oscillating.

#include "common/lb/behaviour.hpp"
#include "common/lb/load_tracker.hpp"
#include "tests/common/lb/load_fixtures.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace agentlb::lb;
using namespace agentlb::lb::test;
using namespace std::chrono_literals;

namespace {

const LoadTracker::Clock::time_point kStart{};

ServerLoad load_of(std::string address, bool over, bool settled) {
    ServerLoad load;
    load.address = std::move(address);
    load.over = over;
    load.settled = settled;
    return load;
}

// Moves `n` agents from one server to another, as agents reconnecting on
// their own would (not the rebalancer).
void drift(ZoneLoad& zone, const std::string& from, const std::string& to, int n) {
    for (ZoneAgent& agent : zone.agents) {
        if (n > 0 && agent.current == from) {
            agent.current = to;
            --n;
        }
    }
}

// One tick of a rebalancer: assess, ask the tracker, apply the planned moves
// at once. Returns the number of agents moved.
std::size_t tick(ZoneLoad& zone,
                 LoadTracker& tracker,
                 LoadTracker::Clock::time_point now,
                 std::int64_t threshold) {
    const auto shedding = tracker.update(now, assess_load(zone, threshold));
    if (shedding.empty()) {
        return 0;
    }
    const auto moves = plan_load_moves(zone, threshold, shedding);
    apply_moves(zone, moves);
    return moves.size();
}

}  // namespace

TEST_CASE("load tracker: a server sheds only after it has been over for the whole hold") {
    LoadTracker tracker(60s);
    const std::vector<ServerLoad> over{load_of("ms1", true, false), load_of("ms2", false, true)};
    for (auto t = 0s; t < 60s; t += 10s) {
        INFO(t.count());
        CHECK(tracker.update(kStart + t, over).empty());
    }
    CHECK(tracker.update(kStart + 60s, over) == std::vector<std::string>{"ms1"});
    CHECK_FALSE(tracker.armed("ms1"));
    CHECK(tracker.armed("ms2"));
}

TEST_CASE("load tracker: one update not over restarts the hold") {
    LoadTracker tracker(60s);
    const std::vector<ServerLoad> over{load_of("ms1", true, false)};
    const std::vector<ServerLoad> under{load_of("ms1", false, false)};
    CHECK(tracker.update(kStart, over).empty());
    CHECK(tracker.update(kStart + 50s, over).empty());
    CHECK(tracker.update(kStart + 55s, under).empty());
    CHECK(tracker.update(kStart + 60s, over).empty());
    CHECK(tracker.update(kStart + 119s, over).empty());
    CHECK(tracker.update(kStart + 120s, over) == std::vector<std::string>{"ms1"});
}

TEST_CASE("load tracker: after shedding a server waits until it has settled, then a full hold") {
    LoadTracker tracker(20s);
    const std::vector<ServerLoad> over{load_of("ms1", true, false)};
    const std::vector<ServerLoad> between{load_of("ms1", false, false)};  // under t, above t/2
    const std::vector<ServerLoad> settled{load_of("ms1", false, true)};
    CHECK(tracker.update(kStart, over).empty());
    REQUIRE(tracker.update(kStart + 20s, over).size() == 1);
    // Still over (its agents could not go anywhere): no new round, however long.
    for (auto t = 21s; t < 1000s; t += 20s) {
        CHECK(tracker.update(kStart + t, over).empty());
    }
    // Down between t/2 and t and back up: still not armed.
    CHECK(tracker.update(kStart + 1000s, between).empty());
    CHECK(tracker.update(kStart + 1001s, over).empty());
    CHECK(tracker.update(kStart + 1100s, over).empty());
    CHECK_FALSE(tracker.armed("ms1"));
    // Settled: armed again, and the hold starts from the next over.
    CHECK(tracker.update(kStart + 1101s, settled).empty());
    CHECK(tracker.armed("ms1"));
    CHECK(tracker.update(kStart + 1102s, over).empty());
    CHECK(tracker.update(kStart + 1121s, over).empty());
    CHECK(tracker.update(kStart + 1122s, over) == std::vector<std::string>{"ms1"});
}

TEST_CASE("load tracker: a server missing from an update is forgotten") {
    LoadTracker tracker(20s);
    const std::vector<ServerLoad> over{load_of("ms1", true, false)};
    CHECK(tracker.update(kStart, over).empty());
    CHECK(tracker.update(kStart + 10s, {}).empty());
    CHECK(tracker.update(kStart + 20s, over).empty());  // the hold starts again
    CHECK(tracker.update(kStart + 40s, over).size() == 1);
}

TEST_CASE("load tracker: load sitting exactly at the threshold for ten holds moves nothing") {
    for (Behaviour behaviour : {Behaviour::low, Behaviour::normal, Behaviour::aggressive}) {
        INFO(behaviour_name(behaviour));
        const BehaviourSettings settings = *behaviour_settings(behaviour);
        const std::int64_t threshold = settings.threshold_permille;
        // 60 agents, share 20 each; ms1 sits exactly at 20 * (1 + t), whole agents above its share.
        const int at = static_cast<int>(20 * (1000 + threshold) / 1000);
        const int rest = 60 - at;
        ZoneLoad zone = zone_of({at, rest - rest / 2, rest / 2});
        const auto loads = assess_load(zone, threshold);
        REQUIRE(loads[0].excess >= 1);
        REQUIRE_FALSE(loads[0].over);
        const auto hold = settings.hold;
        LoadTracker tracker(hold);
        std::size_t moved = 0;
        for (auto t = 0s; t <= 10 * hold; t += 1s) {
            moved += tick(zone, tracker, kStart + t, threshold);
            // Agents of the other servers come and go; ms1 stays at the threshold.
            if (t.count() % 2 == 0) {
                drift(zone, "ms2", "ms3", 1);
            } else {
                drift(zone, "ms3", "ms2", 1);
            }
        }
        CHECK(moved == 0);
    }
}

TEST_CASE("load tracker: load flapping across the threshold faster than the hold moves nothing") {
    ZoneLoad zone = zone_of({20, 20, 20});
    LoadTracker tracker(60s);
    std::size_t moved = 0;
    for (auto t = 0s; t <= 1200s; t += 1s) {
        // 5 agents pile onto ms1 for 40 s, then leave for 40 s (25 > 23: over at 15 %).
        if (t.count() % 80 == 0) {
            drift(zone, "ms3", "ms1", 5);
        } else if (t.count() % 80 == 40) {
            drift(zone, "ms1", "ms3", 5);
        }
        moved += tick(zone, tracker, kStart + t, 150);
    }
    CHECK(moved == 0);
}

TEST_CASE("load tracker: load flapping slower than the hold moves no more than the flapping did") {
    // Eight agents whose home is ms3 keep going to ms1 for 100 s and back for
    // 100 s (on their own: a network path that comes and goes). Each half
    // period lasts longer than the hold, so the rebalancer follows the load,
    // but at most one round per change, each moving at most the excess.
    ZoneLoad zone = zone_of({20, 20, 20});
    std::vector<std::int64_t> flappy;
    for (std::int64_t id = 41; id <= 48; ++id) {
        flappy.push_back(id);
    }
    auto send = [&zone, &flappy](const std::string& to) {
        for (ZoneAgent& agent : zone.agents) {
            if (std::find(flappy.begin(), flappy.end(), agent.host_id) != flappy.end()) {
                agent.current = to;
            }
        }
    };
    LoadTracker tracker(60s);
    std::size_t moved = 0;
    std::size_t rounds = 0;
    std::size_t changes = 0;
    for (auto t = 0s; t < 2000s; t += 1s) {
        if (t.count() % 200 == 0) {
            send("ms1");
            ++changes;
        } else if (t.count() % 200 == 100) {
            send("ms3");
            ++changes;
        }
        const std::size_t now_moved = tick(zone, tracker, kStart + t, 150);
        REQUIRE(now_moved <= 8);
        rounds += now_moved > 0 ? 1 : 0;
        moved += now_moved;
    }
    CHECK(rounds > 0);
    CHECK(rounds <= changes);
    CHECK(moved <= 8 * changes);
    // The last change was followed for longer than the hold: nothing is over.
    for (const ServerLoad& load : assess_load(zone, 150)) {
        CHECK_FALSE(load.over);
    }
}

TEST_CASE("load tracker: a stuck server is not retried until it settles") {
    // Every list names ms1 only: the round can move nobody.
    ZoneLoad zone = zone_of({30, 15, 15});
    for (ZoneAgent& agent : zone.agents) {
        agent.list = {"ms1"};
    }
    LoadTracker tracker(20s);
    std::size_t shed_calls = 0;
    for (auto t = 0s; t <= 400s; t += 1s) {
        shed_calls += tracker.update(kStart + t, assess_load(zone, 50)).size();
    }
    CHECK(shed_calls == 1);
}
