// Rebalance with three real servers and thirty real agents
// (tests/support/three_servers.hpp): `mgmt cancel-maintenance --rebalance`
// brings back the agents that prefer the server; `rebalance` after a crash
// and restart restores the layout `preview` computes, and `--dry-run` named
// exactly the moves beforehand.

#include "common/lb/algorithm.hpp"
#include "common/lb/endpoint.hpp"
#include "common/lb/host_list.hpp"
#include "tests/support/process.hpp"
#include "tests/support/three_servers.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kAgents = 30;

// Each agent starts with the roundrobin list the servers give it (hosts are
// enrolled in order: ids 1..30), so it connects where it belongs at once.
ThreeServersOptions roundrobin_cluster() {
    ThreeServersOptions options;
    options.agents = kAgents;
    options.algorithm = "roundrobin";
    options.initial_host = [](std::size_t i, const std::vector<std::string>& addresses) {
        std::vector<std::int64_t> ids;
        for (std::size_t id = 1; id <= kAgents; ++id) {
            ids.push_back(static_cast<std::int64_t>(id));
        }
        const auto* algorithm = *lb::find_algorithm("roundrobin");
        const lb::Weights no_weights;
        return lb::join_host_list(
                   algorithm->compute({addresses, ids, static_cast<std::int64_t>(i + 1), no_weights})) +
               "@roundrobin";
    };
    return options;
}

nlohmann::json ctl_json(ThreeServers& cluster, const std::vector<std::string>& args) {
    std::vector<std::string> argv{AGENTLB_CTL_BIN, "--db", cluster.fixture().db_path(), "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    const CommandResult result = run_command(argv, 20s);
    INFO("agentlbctl " << args.front() << ": " << result.err);
    REQUIRE(result.exit_code == 0);
    return nlohmann::json::parse(result.out);
}

std::string server_of(ThreeServers& cluster, const std::string& entry) {
    for (std::size_t i = 0; i < 3; ++i) {
        if (lb::same_endpoint(entry, cluster.server(i).address())) {
            return cluster.server(i).name();
        }
    }
    return "(unknown " + entry + ")";
}

// host name -> the server its `preview` list starts with.
std::map<std::string, std::string> preferred_by_preview(ThreeServers& cluster) {
    const auto preview = ctl_json(cluster, {"preview"});
    std::map<std::string, std::string> preferred;
    for (const auto& host : preview["hosts"]) {
        preferred[host["name"].get<std::string>()] = server_of(cluster, host["list"][0].get<std::string>());
    }
    return preferred;
}

bool layout_is(ThreeServers& cluster, const std::map<std::string, std::string>& expected) {
    const auto where = cluster.where();
    for (const auto& [host, server] : expected) {
        const auto it = where.find(host);
        if (it == where.end() || it->second != server) {
            return false;
        }
    }
    return true;
}

}  // namespace

TEST_CASE("cancel-maintenance --rebalance: the agents whose list starts with ms1 are back on ms1") {
    // Five a second: the ten agents that move take about two seconds.
    auto options = roundrobin_cluster();
    options.config.emplace_back("agentlb.drain.rate", "5");
    ThreeServers cluster(options);
    const auto preferred = preferred_by_preview(cluster);
    REQUIRE(preferred.size() == kAgents);
    std::set<std::string> prefer_ms1;
    for (const auto& [host, server] : preferred) {
        if (server == "ms1") {
            prefer_ms1.insert(host);
        }
    }
    REQUIRE(prefer_ms1.size() == kAgents / 3);
    bool settled = wait_until([&] { return layout_is(cluster, preferred); }, 30s, 100ms);
    INFO(cluster.layout() << "\n" << cluster.logs());
    REQUIRE(settled);

    // Maintenance, then the patch: ms1 restarts and stays in maintenance,
    // holding nothing; its agents are on their next servers.
    const auto maintenance = ctl_json(cluster, {"mgmt", "maintenance", "ms1"});
    CHECK(maintenance["already"] == false);
    cluster.server(0).kill();
    cluster.server(0).start();
    settled = wait_until(
        [&] { return cluster.count_on("ms1") == 0 && cluster.wait_all_connected(100ms); }, 30s, 100ms);
    REQUIRE(settled);
    const auto listed = ctl_json(cluster, {"mgmt", "list"});
    CHECK(listed[0]["state"] == "maintenance");
    CHECK(listed[0]["maintenance"] == true);

    const auto requested_at = std::chrono::steady_clock::now();
    const auto cancel = ctl_json(cluster, {"mgmt", "cancel-maintenance", "ms1", "--rebalance"});
    CHECK(cancel["state"] == "up");
    CHECK(cancel["rebalance"].is_number());
    settled = wait_until([&] { return layout_is(cluster, preferred); }, 30s, 50ms);
    INFO(cluster.layout());
    CHECK(settled);
    // The pace holds: ten migrates at five a second span at least 1.8 s.
    CHECK(std::chrono::steady_clock::now() - requested_at >= 1500ms);
    CHECK(cluster.count_on("ms1") == prefer_ms1.size());
    // The servers that held them count each migrate under reason "rebalance".
    CHECK(cluster.server(1).metric("agentlb_migrations_sent_total{reason=\"rebalance\"}") +
              cluster.server(2).metric("agentlb_migrations_sent_total{reason=\"rebalance\"}") >=
          static_cast<double>(prefer_ms1.size()));
    for (const auto& host : prefer_ms1) {
        CHECK(cluster.where()[host] == std::optional<std::string>("ms1"));
    }
    // Each was told why; no other agent was asked to move.
    const std::string reason = "rebalance: preferred server " + cluster.server(0).address() + " is up";
    for (std::size_t i = 0; i < cluster.agent_count(); ++i) {
        const auto& agent = cluster.agent(i);
        INFO(agent.name());
        if (prefer_ms1.count(agent.name()) != 0) {
            CHECK_THAT(agent.log(), Catch::Contains(reason));
        } else {
            CHECK_THAT(agent.log(), !Catch::Contains("rebalance:"));
        }
    }
}

TEST_CASE("rebalance after a SIGKILL and restart: --dry-run names the moves, then the layout is preview's") {
    ThreeServers cluster(roundrobin_cluster());
    const auto preferred = preferred_by_preview(cluster);
    REQUIRE(preferred.size() == kAgents);
    bool settled = wait_until([&] { return layout_is(cluster, preferred); }, 30s, 100ms);
    INFO(cluster.layout() << "\n" << cluster.logs());
    REQUIRE(settled);
    // Nothing to do in the intended layout.
    CHECK(ctl_json(cluster, {"rebalance", "--dry-run"}) == nlohmann::json::array());

    // ms2 crashes; its agents reconnect to their next entries before it comes back.
    cluster.server(1).kill();
    settled = wait_until(
        [&] { return cluster.count_on("ms2") == 0 && cluster.wait_all_connected(100ms); }, 30s, 100ms);
    REQUIRE(settled);
    cluster.server(1).start();
    REQUIRE(cluster.wait_all_connected(20s));
    const auto before = cluster.where();

    // The dry run: exactly the agents not on their preferred server, from where they are to it.
    const auto plan = ctl_json(cluster, {"rebalance", "--dry-run"});
    std::map<std::string, std::pair<std::string, std::string>> planned;
    for (const auto& move : plan) {
        planned[move["host"].get<std::string>()] = {move["from"].get<std::string>(),
                                                    move["to"].get<std::string>()};
    }
    std::map<std::string, std::pair<std::string, std::string>> expected;
    for (const auto& [host, server] : preferred) {
        const auto& on = before.at(host);
        REQUIRE(on.has_value());
        if (*on != server) {
            expected[host] = {*on, server};
        }
    }
    CHECK(expected.size() == kAgents / 3);
    CHECK(planned == expected);

    const auto requested = ctl_json(cluster, {"rebalance"});
    CHECK(requested["rebalance"].is_number());
    settled = wait_until([&] { return layout_is(cluster, preferred); }, 30s, 100ms);
    INFO(cluster.layout());
    CHECK(settled);
    CHECK(ctl_json(cluster, {"rebalance", "--dry-run"}) == nlohmann::json::array());
}
