// Density mode (common/lb/density): fill the servers in `host` order up to
// the maximum each, with the fewest moves, along the agents' own lists.

#include "common/lb/density.hpp"
#include "tests/common/lb/load_fixtures.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>

using namespace agentlb::lb;
using namespace agentlb::lb::test;
using namespace std::chrono_literals;

namespace {

std::map<std::string, int> counts_after(ZoneLoad zone, const DensityPlan& plan) {
    apply_moves(zone, plan.moves);
    std::map<std::string, int> counts;
    for (const ZoneAgent& agent : zone.agents) {
        ++counts[agent.current];
    }
    return counts;
}

}  // namespace

TEST_CASE("density: servers fill in host order up to the maximum, and the last ones empty") {
    ZoneLoad zone = zone_of({5, 5, 5});
    const DensityPlan plan = plan_density(zone, 10);
    // ms1 takes 5 more (from ms3: ms2 keeps its 5, its target); ms3 empties.
    CHECK(plan.moves.size() == 5);
    for (const Move& move : plan.moves) {
        CHECK(move.from == "ms3");
        CHECK(move.to == "ms1");
    }
    CHECK(plan.stranded == 0);
    CHECK(counts_after(zone, plan) == std::map<std::string, int>{{"ms1", 10}, {"ms2", 5}});
    REQUIRE(plan.targets.size() == 15);
    CHECK(plan.targets[0] == "ms1");
    CHECK(plan.targets[5] == "ms2");
    CHECK(plan.targets[14] == "ms1");

    // Already dense: nothing moves.
    apply_moves(zone, plan.moves);
    CHECK(plan_density(zone, 10).moves.empty());
}

TEST_CASE("density: the fill follows host order, each mover the first entry of its own list with room") {
    // Roundrobin-like lists: every server is first for someone.
    ZoneLoad zone;
    zone.servers = {server("ms1"), server("ms2"), server("ms3")};
    const std::vector<std::vector<std::string>> lists{
        {"ms1", "ms2", "ms3"}, {"ms2", "ms3", "ms1"}, {"ms3", "ms1", "ms2"}};
    std::int64_t id = 1;
    for (int i = 0; i < 4; ++i) {
        for (std::size_t s = 0; s < 3; ++s) {
            zone.agents.push_back({id++, zone.servers[s].address, lists[s], std::nullopt});
        }
    }
    const DensityPlan plan = plan_density(zone, 6);
    CHECK(counts_after(zone, plan) == std::map<std::string, int>{{"ms1", 6}, {"ms2", 6}});
    // ms3's agents name ms1 before ms2: they fill ms1 (2 rooms), then ms2.
    CHECK(plan.moves.size() == 4);
    CHECK(std::count_if(plan.moves.begin(), plan.moves.end(), [](const Move& m) { return m.to == "ms1"; }) ==
          2);
}

TEST_CASE("density: the agents with the highest round trip leave an overfull server first") {
    ZoneLoad zone = zone_of({0, 0, 12});
    zone.agents[7].rtt = 9ms;
    zone.agents[2].rtt = 3ms;
    const DensityPlan plan = plan_density(zone, 10);
    // ms3's target is 0: all twelve move, the slowest first, taking ms1's room.
    REQUIRE(plan.moves.size() == 12);
    CHECK(plan.moves[0] == Move{8, "ms3", "ms1"});
    CHECK(plan.moves[1] == Move{3, "ms3", "ms1"});
    CHECK(plan.moves[10].to == "ms2");
    CHECK(plan.moves[11].to == "ms2");
    CHECK(counts_after(zone, plan) == std::map<std::string, int>{{"ms1", 10}, {"ms2", 2}});

    // From a server over its target, the fastest stay.
    ZoneLoad full = zone_of({12, 0, 0});
    full.agents[4].rtt = 2ms;
    full.agents[6].rtt = 1ms;
    const DensityPlan trimmed = plan_density(full, 10);
    REQUIRE(trimmed.moves.size() == 2);
    CHECK(trimmed.moves[0].host_id == 5);
    CHECK(trimmed.moves[1].host_id == 7);
}

TEST_CASE("density: more agents than room: the servers fill and the rest stay where they are") {
    ZoneLoad zone = zone_of({12, 12, 11});
    const DensityPlan plan = plan_density(zone, 10);
    CHECK(plan.moves.empty());
    CHECK(plan.stranded == 5);
    for (std::size_t a = 0; a < zone.agents.size(); ++a) {
        CHECK(plan.targets[a] == zone.agents[a].current);
    }
}

TEST_CASE("density: an agent whose list names no server with room stays, counted as stranded") {
    ZoneLoad zone = zone_of({5, 5, 5});
    zone.agents[14].list = {"ms3", "ms2"};  // ms2 is at its target
    const DensityPlan plan = plan_density(zone, 10);
    CHECK(plan.moves.size() == 4);
    CHECK(plan.stranded == 1);
    CHECK(plan.targets[14] == "ms3");
}

TEST_CASE("density: agents on a server their list does not name leave it first") {
    ZoneLoad zone = zone_of({0, 12, 0});
    zone.agents[11].list = {"ms1", "ms3"};
    zone.agents[11].host_id = 100;
    const DensityPlan plan = plan_density(zone, 10);
    REQUIRE(plan.moves.size() == 10);
    CHECK(std::any_of(plan.moves.begin(), plan.moves.end(), [](const Move& m) { return m.host_id == 100; }));
    // ms2's target is 2: the two that stay are agents whose list names it.
    CHECK(plan.targets[9] == "ms2");
    CHECK(plan.targets[10] == "ms2");
}

TEST_CASE(
    "density: weight 0 and servers that do not count get no agents, and agents on the latter are left") {
    ZoneLoad zone = zone_of({3, 3, 3}, {server("ms1", 0), server("ms2", 1, false), server("ms3")});
    const DensityPlan plan = plan_density(zone, 10);
    // ms1 weighs 0: its 3 go to ms3; ms2's agents are the drain's.
    CHECK(plan.moves.size() == 3);
    for (const Move& move : plan.moves) {
        CHECK(move.from == "ms1");
        CHECK(move.to == "ms3");
    }
    CHECK_FALSE(plan.targets[3]);
    CHECK(plan.stranded == 0);
}

TEST_CASE("density: a maximum below 1 is read as 1") {
    ZoneLoad zone = zone_of({2, 0, 0});
    CHECK(counts_after(zone, plan_density(zone, 0)) == std::map<std::string, int>{{"ms1", 1}, {"ms2", 1}});
}

TEST_CASE(
    "density: over random zones the moves are the fewest the targets allow, and a second plan is empty") {
    std::mt19937 random(1515);
    const std::vector<std::string> names{"ms1", "ms2", "ms3", "ms4"};
    for (int round = 0; round < 300; ++round) {
        INFO("round " << round);
        ZoneLoad zone;
        zone.servers = {server("ms1"), server("ms2"), server("ms3"), server("ms4")};
        const int agents = static_cast<int>(random() % 100);
        for (int a = 0; a < agents; ++a) {
            std::vector<std::string> list = names;
            std::shuffle(list.begin(), list.end(), random);
            std::optional<std::chrono::microseconds> rtt;
            if (random() % 2 == 0) {
                rtt = std::chrono::microseconds(random() % 100);
            }
            zone.agents.push_back({a + 1, names[random() % 4], list, rtt});
        }
        const std::int64_t max = 1 + random() % 40;
        const DensityPlan plan = plan_density(zone, max);
        CHECK(plan_density(zone, max).moves == plan.moves);

        std::map<std::string, std::int64_t> before;
        for (const ZoneAgent& agent : zone.agents) {
            ++before[agent.current];
        }
        std::int64_t left = agents;
        std::int64_t fewest = 0;
        for (const std::string& name : names) {
            const std::int64_t target = std::min(max, left);
            left -= target;
            fewest += std::max<std::int64_t>(0, before[name] - target);
        }
        const std::int64_t stranded = std::max<std::int64_t>(0, agents - 4 * max);
        CHECK(plan.stranded == stranded);
        CHECK(static_cast<std::int64_t>(plan.moves.size()) == fewest - stranded);
        apply_moves(zone, plan.moves);
        CHECK(plan_density(zone, max).moves.empty());
    }
}
