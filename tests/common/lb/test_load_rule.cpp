// The load-aware rebalancer's rule (common/lb/load_rule): fair shares, which
// servers are over, and the fewest moves along the agents' own lists.

#include "common/lb/load_rule.hpp"
#include "tests/common/lb/load_fixtures.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>

using namespace agentlb::lb;
using namespace agentlb::lb::test;
using namespace std::chrono_literals;

namespace {

std::map<std::string, int> destinations(const std::vector<Move>& moves) {
    std::map<std::string, int> to;
    for (const Move& move : moves) {
        ++to[move.to];
    }
    return to;
}

}  // namespace

TEST_CASE("load rule: the fair share is the zone's agents split by weight among the servers that count") {
    const auto loads = assess_load(zone_of({6, 3, 3}, {server("ms1", 2), server("ms2"), server("ms3")}), 150);
    REQUIRE(loads.size() == 3);
    CHECK(loads[0].address == "ms1");
    CHECK(loads[0].count == 6);
    CHECK(loads[0].share() == Approx(6.0));
    CHECK(loads[1].share() == Approx(3.0));
    CHECK(loads[2].share() == Approx(3.0));
    for (const ServerLoad& load : loads) {
        CHECK_FALSE(load.over);
        CHECK(load.excess == 0);
        CHECK(load.settled);
        CHECK(load.takes_agents);
    }
    // The same counts with equal weights: ms1 holds 2 above its share of 4.
    const auto equal = assess_load(zone_of({6, 3, 3}), 150);
    CHECK(equal[0].share() == Approx(4.0));
    CHECK(equal[0].excess == 2);
    CHECK(equal[0].over);
    CHECK_FALSE(equal[0].settled);
}

TEST_CASE("load rule: exactly at the threshold is not over, and one agent more is") {
    // Share 10 each; 30 % above is exactly 13.
    auto at = assess_load(zone_of({13, 9, 8}), 300);
    CHECK(at[0].excess == 3);
    CHECK_FALSE(at[0].over);
    CHECK(plan_load_moves(zone_of({13, 9, 8}), 300).empty());
    auto above = assess_load(zone_of({14, 8, 8}), 300);
    CHECK(above[0].over);
    CHECK(above[0].excess == 4);
    CHECK_FALSE(above[1].over);
    CHECK_FALSE(above[2].over);
}

TEST_CASE("load rule: a server less than one whole agent above its share is not over") {
    // Share 10/3 = 3.33: 4 is 20 % above, over 5 %, yet moving one agent would
    // take it below its share.
    const auto loads = assess_load(zone_of({4, 3, 3}), 50);
    CHECK(loads[0].excess == 0);
    CHECK_FALSE(loads[0].over);
    CHECK(loads[0].settled);
    CHECK(plan_load_moves(zone_of({4, 3, 3}), 50).empty());
}

TEST_CASE("load rule: the over server sheds its excess, no more, to the entries under their share") {
    ZoneLoad zone = zone_of({14, 8, 8});
    const auto moves = plan_load_moves(zone, 300);
    REQUIRE(moves.size() == 4);
    for (const Move& move : moves) {
        CHECK(move.from == "ms1");
    }
    // ms2 is the first entry under its share until it reaches it, then ms3.
    CHECK(destinations(moves) == std::map<std::string, int>{{"ms2", 2}, {"ms3", 2}});
    apply_moves(zone, moves);
    for (const ServerLoad& load : assess_load(zone, 300)) {
        CHECK(load.count == 10);
    }
    CHECK(plan_load_moves(zone, 0).empty());
}

TEST_CASE("load rule: each agent goes to the highest entry of its own list that is under its share") {
    ZoneLoad zone = zone_of({14, 8, 8}, {server("ms1"), server("ms2"), server("ms3")}, {"ms1", "ms3", "ms2"});
    zone.agents[0].list = {"ms2", "ms1", "ms3"};
    const auto moves = plan_load_moves(zone, 300);
    REQUIRE(moves.size() == 4);
    // Agent 1 names ms2 first; the others name ms3 before ms2.
    CHECK(moves[0] == Move{1, "ms1", "ms2"});
    CHECK(moves[1].to == "ms3");
    CHECK(moves[2].to == "ms3");
    CHECK(moves[3].to == "ms2");
}

TEST_CASE("load rule: agents with the highest round trip move first, then by host id") {
    ZoneLoad zone = zone_of({12, 9, 9});  // share 10: 2 agents to move
    zone.agents[5].rtt = 40ms;
    zone.agents[3].rtt = 900us;
    zone.agents[7].rtt = 40ms;
    const auto moves = plan_load_moves(zone, 150);
    REQUIRE(moves.size() == 2);
    CHECK(moves[0].host_id == 6);
    CHECK(moves[1].host_id == 8);

    // Agents that reported no round trip come after those that did.
    zone.agents[5].rtt.reset();
    zone.agents[7].rtt.reset();
    const auto next = plan_load_moves(zone, 150);
    REQUIRE(next.size() == 2);
    CHECK(next[0].host_id == 4);
    CHECK(next[1].host_id == 1);
}

TEST_CASE("load rule: an agent never goes to a server its list does not name, and others go instead") {
    ZoneLoad zone = zone_of({12, 9, 9});
    zone.agents[0].list = {"ms1"};
    zone.agents[0].rtt = 1s;
    zone.agents[1].list = {"ms1", "ghost:8250"};
    zone.agents[1].rtt = 1s;
    const auto moves = plan_load_moves(zone, 150);
    REQUIRE(moves.size() == 2);
    CHECK(moves[0].host_id == 3);
    CHECK(moves[1].host_id == 4);
}

TEST_CASE("load rule: an agent whose list offers only servers at their share stays") {
    // ms2 holds its share, ms3 is under it, but no list names ms3.
    ZoneLoad zone = zone_of({14, 10, 6}, {server("ms1"), server("ms2"), server("ms3")}, {"ms1", "ms2"});
    CHECK(assess_load(zone, 300)[0].over);
    CHECK(plan_load_moves(zone, 300).empty());
}

TEST_CASE("load rule: a server with weight 0 takes no agents and sheds those it holds") {
    ZoneLoad zone = zone_of({8, 8, 2}, {server("ms1"), server("ms2"), server("ms3", 0)});
    const auto loads = assess_load(zone, 300);
    CHECK(loads[0].share() == Approx(9.0));
    CHECK(loads[2].share() == Approx(0.0));
    CHECK_FALSE(loads[2].takes_agents);
    CHECK(loads[2].over);
    CHECK(loads[2].excess == 2);
    const auto moves = plan_load_moves(zone, 300);
    CHECK(destinations(moves) == std::map<std::string, int>{{"ms1", 1}, {"ms2", 1}});

    // Never a destination, even when the others are over.
    ZoneLoad heavy = zone_of({20, 0, 0}, {server("ms1"), server("ms2", 0), server("ms3")});
    CHECK(destinations(plan_load_moves(heavy, 300)) == std::map<std::string, int>{{"ms3", 10}});
}

TEST_CASE("load rule: when every server that counts weighs 0 they share equally") {
    ZoneLoad zone = zone_of({9, 3, 0}, {server("ms1", 0), server("ms2", 0), server("ms3", 0)});
    const auto loads = assess_load(zone, 150);
    for (const ServerLoad& load : loads) {
        CHECK(load.share() == Approx(4.0));
        CHECK(load.takes_agents);
    }
    CHECK(plan_load_moves(zone, 150).size() == 5);
}

TEST_CASE("load rule: servers that do not count are neither sources nor destinations") {
    // ms3 is in maintenance: its 10 agents are the drain's, not in the total.
    ZoneLoad zone = zone_of({14, 2, 10}, {server("ms1"), server("ms2"), server("ms3", 1, false)});
    const auto loads = assess_load(zone, 150);
    CHECK(loads[0].share() == Approx(8.0));
    CHECK(loads[2].count == 10);
    CHECK_FALSE(loads[2].counts);
    CHECK_FALSE(loads[2].over);
    CHECK(loads[2].share() == Approx(0.0));
    const auto moves = plan_load_moves(zone, 150);
    CHECK(destinations(moves) == std::map<std::string, int>{{"ms2", 6}});
    // Agents on a server no row names are left alone too.
    zone.agents.push_back({99, "elsewhere:8250", kList, 5s});
    CHECK(plan_load_moves(zone, 150) == moves);
}

TEST_CASE("load rule: addresses are compared as the same server however they are written") {
    ZoneLoad zone = zone_of({14, 8, 8}, {server("MS1:8250"), server("ms2"), server("ms3:8250")});
    for (std::size_t i = 0; i < zone.agents.size(); ++i) {
        zone.agents[i].current = i < 14 ? "ms1" : (i < 22 ? "ms2:8250" : "MS3");
    }
    const auto moves = plan_load_moves(zone, 300, {"ms1:8250"});
    CHECK(moves.size() == 4);
    CHECK(moves[0].from == "ms1");  // as the agent gave it
    CHECK(moves[0].to == "ms2");    // as its list writes it
    // A duplicate row for one server is ignored.
    zone.servers.push_back(server("ms1", 5));
    CHECK(assess_load(zone, 300).size() == 3);
    CHECK(plan_load_moves(zone, 300, {"ms1"}) == moves);
}

TEST_CASE("load rule: only the servers named to shed shed") {
    ZoneLoad zone = zone_of({14, 14, 2});  // share 10: both ms1 and ms2 are over
    CHECK(destinations(plan_load_moves(zone, 300)) == std::map<std::string, int>{{"ms3", 8}});
    const auto only_ms2 = plan_load_moves(zone, 300, {"ms2"});
    REQUIRE(only_ms2.size() == 4);
    for (const Move& move : only_ms2) {
        CHECK(move.from == "ms2");
    }
    CHECK(plan_load_moves(zone, 300, {}).empty());
    // A server named but no longer over sheds nothing.
    CHECK(plan_load_moves(zone_of({10, 10, 10}), 300, {"ms1"}).empty());
}

TEST_CASE("load rule: over random zones the moves keep every promise and settle in one round") {
    std::mt19937 random(15);
    const std::vector<std::string> names{"ms1", "ms2", "ms3", "ms4", "ms5"};
    for (int round = 0; round < 300; ++round) {
        INFO("round " << round);
        const std::size_t server_count = 2 + random() % 4;
        ZoneLoad zone;
        for (std::size_t s = 0; s < server_count; ++s) {
            zone.servers.push_back(server(names[s], random() % 4, random() % 6 != 0));
        }
        const int agent_count = static_cast<int>(random() % 200);
        for (int a = 0; a < agent_count; ++a) {
            std::vector<std::string> list(names.begin(), names.begin() + server_count);
            std::shuffle(list.begin(), list.end(), random);
            list.resize(1 + random() % server_count);  // some lists leave servers out
            // Skewed: most agents on the first servers.
            const std::size_t on = std::min<std::size_t>(random() % server_count, random() % server_count);
            std::optional<std::chrono::microseconds> rtt;
            if (random() % 3 != 0) {
                rtt = std::chrono::microseconds(random() % 5000);
            }
            zone.agents.push_back({a + 1, names[on], list, rtt});
        }
        const std::int64_t threshold = 50 * (random() % 7);

        const auto before = assess_load(zone, threshold);
        const auto moves = plan_load_moves(zone, threshold);
        CHECK(plan_load_moves(zone, threshold) == moves);  // deterministic
        std::map<std::string, std::int64_t> moved_out;
        for (const Move& move : moves) {
            const auto agent = std::find_if(zone.agents.begin(), zone.agents.end(), [&](const ZoneAgent& a) {
                return a.host_id == move.host_id;
            });
            REQUIRE(agent != zone.agents.end());
            CHECK(std::find(agent->list.begin(), agent->list.end(), move.to) != agent->list.end());
            const auto from = std::find_if(
                before.begin(), before.end(), [&](const ServerLoad& l) { return l.address == move.from; });
            REQUIRE(from != before.end());
            CHECK(from->over);
            ++moved_out[move.from];
        }
        ZoneLoad after_zone = zone;
        apply_moves(after_zone, moves);
        const auto after = assess_load(after_zone, threshold);
        for (std::size_t s = 0; s < before.size(); ++s) {
            INFO(before[s].address);
            CHECK(moved_out[before[s].address] <= before[s].excess);
            // Sources do not drop below their share; nothing moved makes a
            // server over that was not.
            if (moved_out[before[s].address] > 0) {
                CHECK(static_cast<double>(after[s].count) >= before[s].share() - 1e-9);
            }
            if (!before[s].over) {
                CHECK_FALSE(after[s].over);
                CHECK(after[s].count >= before[s].count);
            }
            if (after[s].count > before[s].count) {
                CHECK(before[s].takes_agents);
                CHECK(after[s].excess == 0);
            }
        }
        // With every agent able to go everywhere, one round leaves nothing over.
        ZoneLoad full = zone;
        for (ZoneAgent& agent : full.agents) {
            agent.list = std::vector<std::string>(names.begin(), names.begin() + server_count);
        }
        apply_moves(full, plan_load_moves(full, threshold));
        for (const ServerLoad& load : assess_load(full, threshold)) {
            CHECK_FALSE(load.over);
        }
        CHECK(plan_load_moves(full, threshold).empty());
    }
}

TEST_CASE("load rule: 10,000 agents all on one server reach their weighted shares in one round") {
    std::mt19937 random(10000);
    ZoneLoad zone;
    zone.servers = {server("ms1", 1), server("ms2", 2), server("ms3", 3), server("ms4", 4)};
    std::vector<std::string> list{"ms1", "ms2", "ms3", "ms4"};
    for (std::int64_t id = 1; id <= 10000; ++id) {
        std::shuffle(list.begin(), list.end(), random);
        zone.agents.push_back({id, "ms1", list, std::chrono::microseconds(random() % 100000)});
    }
    const auto moves = plan_load_moves(zone, 50);
    CHECK(moves.size() == 9000);  // the fewest: ms1 keeps its share of 1,000
    apply_moves(zone, moves);
    const auto loads = assess_load(zone, 50);
    for (std::size_t s = 0; s < loads.size(); ++s) {
        CHECK(loads[s].count == 1000 * static_cast<std::int64_t>(s + 1));
    }
}
