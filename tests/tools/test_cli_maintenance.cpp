// agentlbctl mgmt maintenance / cancel-maintenance / rebalance and the four
// server states of mgmt list and status, run as a process against a store
// seeded through its API.

#include "common/util/clock.hpp"
#include "tests/tools/ctl_fixture.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

using namespace agentlb;
using namespace agentlb::test;

namespace {

// Servers that count as up: registered with a fresh heartbeat.
void up_servers(const CtlFixture& f, int count) {
    auto store = f.open();
    const std::int64_t now = util::unix_now();
    for (int i = 1; i <= count; ++i) {
        const std::string name = "ms" + std::to_string(i);
        store->register_server(name, "10.0.0." + std::to_string(i) + ":8250", now);
        store->heartbeat_server(name, now, 0);
    }
}

store::ServerRecord server_row(const CtlFixture& f, const std::string& name) {
    for (auto& server : f.open()->list_servers()) {
        if (server.name == name) {
            return server;
        }
    }
    FAIL("no server " << name);
    return {};
}

}  // namespace

TEST_CASE("mgmt maintenance: the server prepares, and asking again says it already is (exit 0)") {
    CtlFixture f;
    up_servers(f, 2);
    const CommandResult first = f.ctl({"mgmt", "maintenance", "ms1"});
    INFO(first.err);
    REQUIRE(first.exit_code == 0);
    CHECK_THAT(first.out, Catch::Contains("ms1 is preparing for maintenance"));
    auto row = server_row(f, "ms1");
    CHECK(row.maintenance);
    CHECK(row.state == "preparing");

    const CommandResult again = f.ctl({"mgmt", "maintenance", "ms1"});
    REQUIRE(again.exit_code == 0);
    CHECK_THAT(again.out, Catch::Contains("ms1 is already in maintenance (state preparing)"));

    const nlohmann::json json = f.ctl_json({"mgmt", "maintenance", "ms1"});
    CHECK(json == nlohmann::json{{"name", "ms1"}, {"already", true}, {"state", "preparing"}});
}

TEST_CASE("mgmt maintenance --json: name, already, state") {
    CtlFixture f;
    up_servers(f, 2);
    const nlohmann::json json = f.ctl_json({"mgmt", "maintenance", "ms2"});
    CHECK(json == nlohmann::json{{"name", "ms2"}, {"already", false}, {"state", "preparing"}});
}

TEST_CASE("mgmt maintenance refusals: unknown name, the last up server, bad usage (exit 2)") {
    CtlFixture f;
    up_servers(f, 2);
    {
        // ms2 is up in its row, but its heartbeat is stale: it does not count.
        auto store = f.open();
        store->heartbeat_server("ms2", util::unix_now() - 60, 0);
    }
    const CommandResult unknown = f.ctl({"mgmt", "maintenance", "ms9"});
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(unknown.err, Catch::Contains("agentlbctl: mgmt maintenance: ") && Catch::Contains("ms9"));

    const CommandResult last = f.ctl({"mgmt", "maintenance", "ms1"});
    CHECK(last.exit_code == 2);
    CHECK_THAT(last.err, Catch::Contains("would leave no management server up"));
    CHECK_FALSE(server_row(f, "ms1").maintenance);
    CHECK(server_row(f, "ms1").state == "up");

    const CommandResult timeout_alone = f.ctl({"mgmt", "maintenance", "ms1", "--timeout", "5"});
    CHECK(timeout_alone.exit_code == 2);
    CHECK_THAT(timeout_alone.err, Catch::Contains("--timeout applies only with --wait"));
    const CommandResult bad_timeout = f.ctl({"mgmt", "maintenance", "ms1", "--wait", "--timeout", "-5"});
    CHECK(bad_timeout.exit_code == 2);
    CHECK_THAT(bad_timeout.err, Catch::Contains("--timeout"));
    CHECK(f.ctl({"mgmt", "maintenance"}).exit_code == 2);
    CHECK(f.ctl({"mgmt", "maintenance", "ms1", "ms2"}).exit_code == 2);
    CHECK_FALSE(server_row(f, "ms1").maintenance);
}

TEST_CASE("mgmt maintenance --wait: returns once the server reports maintenance") {
    CtlFixture f;
    up_servers(f, 2);
    std::thread server([&f] {
        // The server drains, then reports maintenance (as mgmt/drain does).
        std::this_thread::sleep_for(std::chrono::milliseconds(1200));
        auto store = f.open();
        store->compare_and_set_server_state("ms1", "preparing", "maintenance");
    });
    const auto started = std::chrono::steady_clock::now();
    const CommandResult waited = f.ctl({"--json", "mgmt", "maintenance", "ms1", "--wait", "--timeout", "10"});
    server.join();
    INFO(waited.err);
    REQUIRE(waited.exit_code == 0);
    CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(1000));
    CHECK(nlohmann::json::parse(waited.out) ==
          nlohmann::json{{"name", "ms1"}, {"already", false}, {"state", "maintenance"}});
    // Asked again, it says so in words.
    const CommandResult again = f.ctl({"mgmt", "maintenance", "ms1", "--wait"});
    INFO(again.err);
    CHECK(again.exit_code == 0);
    CHECK_THAT(again.out, Catch::Contains("management server ms1 is in maintenance after 0 s"));
}

TEST_CASE("mgmt maintenance --wait --timeout: exit 1 while the server still drains") {
    CtlFixture f;
    up_servers(f, 2);
    const auto started = std::chrono::steady_clock::now();
    const CommandResult waited = f.ctl({"mgmt", "maintenance", "ms1", "--wait", "--timeout", "1"});
    CHECK(waited.exit_code == 1);
    CHECK_THAT(waited.err, Catch::Contains("ms1 is still preparing") && Catch::Contains("after 1 s"));
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
    // The request stays: the drain goes on.
    CHECK(server_row(f, "ms1").maintenance);
}

TEST_CASE("mgmt maintenance --wait: a server that is down counts as reached") {
    CtlFixture f;
    up_servers(f, 2);
    f.open()->set_server_state("ms1", "down");
    const CommandResult waited = f.ctl({"mgmt", "maintenance", "ms1", "--wait", "--timeout", "5"});
    INFO(waited.err);
    REQUIRE(waited.exit_code == 0);
    CHECK_THAT(waited.out, Catch::Contains("ms1 is down after"));
}

TEST_CASE("mgmt cancel-maintenance: back to up, a repeat says so (exit 0), an unknown name is exit 2") {
    CtlFixture f;
    up_servers(f, 2);
    REQUIRE(f.ctl({"mgmt", "maintenance", "ms1"}).exit_code == 0);

    const CommandResult cancel = f.ctl({"mgmt", "cancel-maintenance", "ms1"});
    INFO(cancel.err);
    REQUIRE(cancel.exit_code == 0);
    CHECK_THAT(cancel.out, Catch::Contains("ms1 is out of maintenance (state up)"));
    CHECK_THAT(cancel.out, !Catch::Contains("rebalance"));
    CHECK_FALSE(server_row(f, "ms1").maintenance);
    CHECK(server_row(f, "ms1").state == "up");
    CHECK(f.open()->last_rebalance_id() == 0);

    const CommandResult again = f.ctl({"mgmt", "cancel-maintenance", "ms1"});
    REQUIRE(again.exit_code == 0);
    CHECK_THAT(again.out, Catch::Contains("ms1 is not in maintenance (state up)"));

    const CommandResult unknown = f.ctl({"mgmt", "cancel-maintenance", "ms9"});
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(unknown.err,
               Catch::Contains("agentlbctl: mgmt cancel-maintenance: ") && Catch::Contains("ms9"));
    CHECK(f.ctl({"mgmt", "cancel-maintenance", "ms9", "--rebalance"}).exit_code == 2);
    CHECK(f.open()->last_rebalance_id() == 0);
    CHECK(f.ctl({"mgmt", "cancel-maintenance", "ms1", "--bogus"}).exit_code == 2);
}

TEST_CASE("mgmt cancel-maintenance --rebalance records a rebalance for that server, and its --json shape") {
    CtlFixture f;
    up_servers(f, 2);
    REQUIRE(f.ctl({"mgmt", "maintenance", "ms1"}).exit_code == 0);
    const CommandResult text = f.ctl({"mgmt", "cancel-maintenance", "ms1", "--rebalance"});
    INFO(text.err);
    REQUIRE(text.exit_code == 0);
    CHECK_THAT(text.out, Catch::Contains("rebalance 1 requested: agents whose list puts ms1 ahead"));
    auto requests = f.open()->rebalance_requests_after(0);
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].target == std::optional<std::string>("ms1"));

    REQUIRE(f.ctl({"mgmt", "maintenance", "ms2"}).exit_code == 0);
    const nlohmann::json json = f.ctl_json({"mgmt", "cancel-maintenance", "ms2", "--rebalance"});
    CHECK(json == nlohmann::json{{"name", "ms2"}, {"already", false}, {"state", "up"}, {"rebalance", 2}});
    const nlohmann::json plain = f.ctl_json({"mgmt", "cancel-maintenance", "ms2"});
    CHECK(plain ==
          nlohmann::json{{"name", "ms2"}, {"already", true}, {"state", "up"}, {"rebalance", nullptr}});
}

TEST_CASE("two agentlbctl draining the two up servers at once: exactly one succeeds, every round") {
    CtlFixture f;
    up_servers(f, 2);
    for (int round = 0; round < 40; ++round) {
        INFO("round " << round);
        CommandResult a;
        CommandResult b;
        std::thread first([&] { a = f.ctl({"mgmt", "maintenance", "ms1"}); });
        std::thread second([&] { b = f.ctl({"mgmt", "maintenance", "ms2"}); });
        first.join();
        second.join();
        INFO("ms1: " << a.exit_code << " " << a.err << "ms2: " << b.exit_code << " " << b.err);
        CHECK(((a.exit_code == 0 && b.exit_code == 2) || (a.exit_code == 2 && b.exit_code == 0)));
        const CommandResult& refused = a.exit_code == 2 ? a : b;
        CHECK_THAT(refused.err, Catch::Contains("would leave no management server up"));
        int flagged = 0;
        for (const auto& server : f.open()->list_servers()) {
            flagged += server.maintenance ? 1 : 0;
        }
        CHECK(flagged == 1);
        REQUIRE(f.ctl({"mgmt", "cancel-maintenance", a.exit_code == 0 ? "ms1" : "ms2"}).exit_code == 0);
    }
}

TEST_CASE("rebalance records a request for every agent, and --json gives its id") {
    CtlFixture f;
    up_servers(f, 1);
    const CommandResult text = f.ctl({"rebalance"});
    INFO(text.err);
    REQUIRE(text.exit_code == 0);
    CHECK_THAT(text.out, Catch::Contains("rebalance 1 requested"));
    CHECK(f.ctl_json({"rebalance"}) == nlohmann::json{{"rebalance", 2}});
    auto requests = f.open()->rebalance_requests_after(0);
    REQUIRE(requests.size() == 2);
    CHECK_FALSE(requests[0].target.has_value());
    CHECK(f.ctl({"rebalance", "ms1"}).exit_code == 2);
    CHECK(f.ctl({"rebalance", "--dry"}).exit_code == 2);
}

TEST_CASE("rebalance --dry-run computes hash lists with the stored weights") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", "host", "10.0.0.1,10.0.0.2,10.0.0.3"}).exit_code == 0);
    REQUIRE(f.ctl({"config", "set", "indirect.agent.lb.algorithm", "hash"}).exit_code == 0);
    // Weight 0 puts ms1 and ms2 last: every list starts with ms3.
    REQUIRE(f.ctl({"config", "set", "agentlb.server.weights", "10.0.0.1=0,10.0.0.2=0"}).exit_code == 0);
    std::vector<std::int64_t> ids;
    for (int i = 1; i <= 6; ++i) {
        ids.push_back(f.enrol("h" + std::to_string(i)));
    }
    up_servers(f, 3);
    {
        auto store = f.open();
        const std::int64_t now = util::unix_now();
        for (std::int64_t id : ids) {
            store->set_connected(id, "ms1", now);
        }
    }
    const nlohmann::json moves = f.ctl_json({"rebalance", "--dry-run"});
    REQUIRE(moves.size() == ids.size());
    for (const auto& move : moves) {
        CHECK(move["from"] == "ms1");
        CHECK(move["to"] == "ms3");
    }
}

TEST_CASE("rebalance --dry-run: HOST, FROM, TO for every agent not on the first up server of its list") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", "host", "10.0.0.1,10.0.0.2,10.0.0.3"}).exit_code == 0);
    REQUIRE(f.ctl({"config", "set", "indirect.agent.lb.algorithm", "roundrobin"}).exit_code == 0);
    // roundrobin over hosts 1..4: h1 ms1,ms2,ms3; h2 ms2,ms3,ms1; h3 ms3,ms1,ms2; h4 ms1,ms2,ms3.
    const std::int64_t h1 = f.enrol("h1");
    const std::int64_t h2 = f.enrol("h2");
    const std::int64_t h3 = f.enrol("h3");
    const std::int64_t h4 = f.enrol("h4");
    f.enrol("h5");  // not connected: nothing to move
    up_servers(f, 3);
    {
        auto store = f.open();
        const std::int64_t now = util::unix_now();
        store->set_connected(h1, "ms2", now);  // prefers ms1: moves
        store->set_connected(h2, "ms2", now);  // already on its first: stays
        store->set_connected(h3, "ms1", now);  // prefers ms3, which is in maintenance: stays on ms1
        store->set_connected(
            h4, "ms3", now);  // on a server in maintenance: its drain moves it, not a rebalance
    }
    REQUIRE(f.ctl({"mgmt", "maintenance", "ms3"}).exit_code == 0);

    const CommandResult text = f.ctl({"rebalance", "--dry-run"});
    INFO(text.err);
    REQUIRE(text.exit_code == 0);
    CHECK(text.out == "HOST  FROM  TO\nh1    ms2   ms1\n");

    const nlohmann::json json = f.ctl_json({"rebalance", "--dry-run"});
    CHECK(json == nlohmann::json::array({nlohmann::json{
                      {"id", h1}, {"host", "h1"}, {"from", "ms2"}, {"to", "ms1"}, {"address", "10.0.0.1"}}}));
    // Nothing was requested.
    CHECK(f.open()->last_rebalance_id() == 0);

    // With ms3 back, h3 (on ms1) prefers it, and h4 (on ms3, up again) prefers ms1.
    REQUIRE(f.ctl({"mgmt", "cancel-maintenance", "ms3"}).exit_code == 0);
    const nlohmann::json after = f.ctl_json({"rebalance", "--dry-run"});
    REQUIRE(after.size() == 3);
    CHECK(after[0]["host"] == "h1");
    CHECK(
        after[1] ==
        nlohmann::json{{"id", h3}, {"host", "h3"}, {"from", "ms1"}, {"to", "ms3"}, {"address", "10.0.0.3"}});
    CHECK(
        after[2] ==
        nlohmann::json{{"id", h4}, {"host", "h4"}, {"from", "ms3"}, {"to", "ms1"}, {"address", "10.0.0.1"}});

    // Everyone home: nothing would move.
    {
        auto store = f.open();
        store->set_connected(h1, "ms1", util::unix_now());
        store->set_connected(h3, "ms3", util::unix_now());
        store->set_connected(h4, "ms1", util::unix_now());
    }
    const CommandResult none = f.ctl({"rebalance", "--dry-run"});
    REQUIRE(none.exit_code == 0);
    CHECK_THAT(none.out, Catch::StartsWith("no agent would move"));
    CHECK(f.ctl_json({"rebalance", "--dry-run"}) == nlohmann::json::array());
}

TEST_CASE("mgmt list and status show the four states and the maintenance request") {
    CtlFixture f;
    up_servers(f, 4);
    {
        auto store = f.open();
        store->set_server_state("ms2", "preparing");
        store->set_server_state("ms3", "maintenance");
        store->heartbeat_server("ms4", util::unix_now() - 60, 0);  // stale: shows down
    }
    REQUIRE(f.ctl({"mgmt", "maintenance", "ms4"}).exit_code == 0);
    const nlohmann::json servers = f.ctl_json({"mgmt", "list"});
    REQUIRE(servers.size() == 4);
    CHECK(servers[0]["state"] == "up");
    CHECK(servers[0]["maintenance"] == false);
    CHECK(servers[1]["state"] == "preparing");
    CHECK(servers[2]["state"] == "maintenance");
    CHECK(servers[3]["state"] == "down");
    CHECK(servers[3]["maintenance"] == true);
    CHECK(servers[0].size() == 6);

    const CommandResult table = f.ctl({"mgmt", "list"});
    REQUIRE(table.exit_code == 0);
    CHECK_THAT(table.out, Catch::StartsWith("NAME  ADDRESS        STATE        MAINTENANCE  LAST HEARTBEAT"));
    CHECK_THAT(table.out, Catch::Contains("ms2   10.0.0.2:8250  preparing    -"));
    CHECK_THAT(table.out, Catch::Contains("ms4   10.0.0.4:8250  down         requested"));

    const nlohmann::json status = f.ctl_json({"status"});
    CHECK(status["servers"][1]["state"] == "preparing");
    CHECK(status["servers"][2]["state"] == "maintenance");
    REQUIRE(status["servers_down"].size() == 1);
    CHECK(status["servers_down"][0]["name"] == "ms4");
    const CommandResult text = f.ctl({"status"});
    CHECK_THAT(text.out, Catch::Contains("ms3   10.0.0.3:8250  maintenance"));
}

TEST_CASE("maintenance, cancel-maintenance and rebalance without a store: exit 1, nothing created") {
    CtlFixture f;
    const std::string missing = (f.dir / "missing.db").string();
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{"mgmt", "maintenance", "ms1"},
                                               {"mgmt", "maintenance", "ms1", "--wait"},
                                               {"mgmt", "cancel-maintenance", "ms1", "--rebalance"},
                                               {"rebalance"},
                                               {"rebalance", "--dry-run"}}) {
        std::vector<std::string> argv{"--db", missing};
        argv.insert(argv.end(), args.begin(), args.end());
        const CommandResult result = f.ctl_raw(argv);
        INFO(args.front() << " (" << args.size() << " words)");
        CHECK(result.exit_code == 1);
        CHECK_THAT(result.err, Catch::Contains("no store at"));
    }
    CHECK_FALSE(std::filesystem::exists(missing));
}
