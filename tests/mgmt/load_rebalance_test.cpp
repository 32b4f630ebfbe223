// The load-aware rebalancer live, with three real servers and thirty real
// agents (tests/support/three_servers.hpp): a behaviour brings the agents a
// static list puts on ms1 to the weighted shares, at its rate, and moves no
// one again, nor when a server sits exactly at its threshold; density fills ms1 up to
// agentlb.density.max.agents and empties the last server; a schedule (its clock shifted by the hidden
// --schedule-offset) picks density.

#include "tests/support/process.hpp"
#include "tests/support/three_servers.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kAgents = 30;

void ctl(ThreeServers& cluster, const std::vector<std::string>& args) {
    std::vector<std::string> argv{AGENTLB_CTL_BIN, "--db", cluster.fixture().db_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    const CommandResult result = run_command(argv, 20s);
    INFO("agentlbctl: " << result.err);
    REQUIRE(result.exit_code == 0);
}

double rebalance_migrations(ThreeServers& cluster) {
    double total = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        total += cluster.server(i).metric("agentlb_migrations_sent_total{reason=\"rebalance\"}");
    }
    return total;
}

bool counts_are(ThreeServers& cluster, std::size_t ms1, std::size_t ms2, std::size_t ms3) {
    return cluster.count_on("ms1") == ms1 && cluster.count_on("ms2") == ms2 && cluster.count_on("ms3") == ms3;
}

}  // namespace

TEST_CASE("each behaviour brings the agents a static list puts on ms1 to the weighted shares at its rate") {
    struct Case {
        const char* behaviour;
        std::chrono::milliseconds at_least;  // a hold of 1 s, then 22 moves at the behaviour's rate
    };
    const auto c = GENERATE(Case{"low", 1000ms + 22 * 1000ms / 5 - 500ms},
                            Case{"normal", 1000ms + 22 * 1000ms / 20 - 500ms},
                            Case{"aggressive", 1000ms});
    INFO(c.behaviour);
    ThreeServersOptions options;
    options.agents = kAgents;
    options.server_args = {"--rebalance-hold", "1"};
    ThreeServers cluster(options);
    REQUIRE(cluster.wait_all_connected(30s));
    REQUIRE(cluster.count_on("ms1") == kAgents);

    // ms2 weighs 2: shares 7.5 / 15 / 7.5.
    ctl(cluster, {"config", "set", "agentlb.server.weights", cluster.server(1).address() + "=2"});
    ctl(cluster, {"config", "set", "agentlb.rebalance.behaviour", c.behaviour});
    const auto started = std::chrono::steady_clock::now();
    const bool settled = wait_until([&] { return counts_are(cluster, 8, 15, 7); }, 30s, 50ms);
    INFO(cluster.layout() << "\n" << cluster.logs());
    REQUIRE(settled);
    CHECK(std::chrono::steady_clock::now() - started >= c.at_least);
    CHECK(rebalance_migrations(cluster) == 22);

    // Several hold times later nothing else moved: ms1 sits within its
    // threshold, and no agent went back to its first entry (check interval 0).
    std::this_thread::sleep_for(4s);
    CHECK(counts_are(cluster, 8, 15, 7));
    CHECK(rebalance_migrations(cluster) == 22);
}

TEST_CASE("density: ms1 fills up to agentlb.density.max.agents and ms3 empties") {
    ThreeServersOptions options;
    options.agents = kAgents;
    // Ten agents start on each server.
    options.initial_host = [](std::size_t i, const std::vector<std::string>& addresses) {
        std::vector<std::string> rotated;
        for (std::size_t k = 0; k < addresses.size(); ++k) {
            rotated.push_back(addresses[(i + k) % addresses.size()]);
        }
        std::string joined;
        for (const auto& entry : rotated) {
            joined += (joined.empty() ? "" : ",") + entry;
        }
        return joined + "@static";
    };
    ThreeServers cluster(options);
    REQUIRE(cluster.wait_all_connected(30s));
    REQUIRE(wait_until([&] { return counts_are(cluster, 10, 10, 10); }, 10s, 100ms));

    ctl(cluster, {"config", "set", "agentlb.density.max.agents", "18"});
    ctl(cluster, {"config", "set", "agentlb.mode", "density"});
    const bool settled = wait_until([&] { return counts_are(cluster, 18, 12, 0); }, 30s, 100ms);
    INFO(cluster.layout() << "\n" << cluster.logs());
    REQUIRE(settled);
    std::this_thread::sleep_for(2s);
    CHECK(counts_are(cluster, 18, 12, 0));
    CHECK(rebalance_migrations(cluster) == 10);
}

TEST_CASE("a schedule picks density at the time the servers read, shifted by --schedule-offset") {
    // The weekday two days from now: the schedule applies only with the offset.
    const auto later = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + 48h);
    std::tm utc{};
    gmtime_r(&later, &utc);
    static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    const std::string day = kDays[utc.tm_wday];

    ThreeServersOptions options;
    options.agents = 6;
    options.server_args = {"--schedule-offset", "172800"};
    ThreeServers cluster(options);
    REQUIRE(cluster.wait_all_connected(30s));
    // All six on ms1 (static); density with at most 4 moves two to ms2.
    ctl(cluster, {"config", "set", "agentlb.density.max.agents", "4"});
    ctl(cluster, {"config", "set", "agentlb.mode.schedule", day + " density; performance"});
    const bool settled = wait_until([&] { return counts_are(cluster, 4, 2, 0); }, 30s, 100ms);
    INFO(cluster.layout() << "\n" << cluster.logs());
    REQUIRE(settled);
    CHECK_THAT(cluster.server(0).log(), Catch::Contains("is in density mode"));
}

TEST_CASE("behaviour low: a server sitting exactly at its threshold sheds nothing over several hold times") {
    // Shares 10 each; low's threshold is 30 %: 13 on ms1 is at it, not over.
    ThreeServersOptions options;
    options.agents = kAgents;
    options.server_args = {"--rebalance-hold", "1"};
    // Off until every agent is placed: while some are still connecting, the
    // mean is low and ms1's 13 would read as over the threshold.
    options.config = {{"agentlb.rebalance.behaviour", "off"}};
    options.initial_host = [](std::size_t i, const std::vector<std::string>& addresses) {
        const std::size_t first = i < 13 ? 0 : (i < 22 ? 1 : 2);
        std::string joined = addresses[first];
        for (std::size_t k = 0; k < addresses.size(); ++k) {
            if (k != first) {
                joined += "," + addresses[k];
            }
        }
        return joined + "@static";
    };
    ThreeServers cluster(options);
    REQUIRE(cluster.wait_all_connected(30s));
    // Slow to settle under a sanitizer on a busy machine.
    const bool placed = wait_until([&] { return counts_are(cluster, 13, 9, 8); }, 30s, 100ms);
    INFO(cluster.layout());
    REQUIRE(placed);
    cluster.fixture().set_config("agentlb.rebalance.behaviour", "low");
    std::this_thread::sleep_for(5s);
    INFO(cluster.layout());
    CHECK(counts_are(cluster, 13, 9, 8));
    CHECK(rebalance_migrations(cluster) == 0);
}
