// The admin endpoint: /healthz, /metrics, /v1/status.

#include "tests/mgmt/integration_helpers.hpp"

#include <sqlite3.h>

#include <sstream>
#include <thread>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

std::size_t count_lines(const std::string& text, const std::string& needle) {
    std::istringstream in(text);
    std::size_t count = 0;
    for (std::string line; std::getline(in, line);) {
        count += line.find(needle) != std::string::npos ? 1 : 0;
    }
    return count;
}

}  // namespace

TEST_CASE("/metrics and /v1/status report the connected agents") {
    CaFixture fixture;
    MgmtServer m1(fixture, "M1");
    MgmtServer m2(fixture, "M2");
    fixture.set_config("host", lb::join_host_list({m1.address(), m2.address()}));
    fixture.set_config("indirect.agent.lb.algorithm", "roundrobin");
    auto h1 = fixture.enroll("h1");
    auto h2 = fixture.enroll("h2");
    REQUIRE(wait_synced(fixture, m1));
    auto a1 = connect_agent(fixture, h1, m1);
    auto a2 = connect_agent(fixture, h2, m1);

    const auto health = http_get(m1.admin_port(), "/healthz");
    CHECK(health.status == 200);
    CHECK(health.body == "ok\n");
    CHECK(http_get(m1.admin_port(), "/nothing-here").status == 404);

    CHECK(m1.metric("agentlb_agents_connected") == 2);
    CHECK(m1.metric("agentlb_handshakes_total{result=\"ok\"}") == 2);
    CHECK(m2.metric("agentlb_agents_connected") == 0);

    const auto status = m1.status();
    REQUIRE(status.is_object());
    CHECK(status["server"]["name"] == "M1");
    CHECK(status["server"]["address"] == m1.address());
    CHECK(status["server"]["state"] == "up");
    CHECK(status["rss_bytes"].get<std::int64_t>() > 0);
    REQUIRE(status["agents"].size() == 2);
    const auto& first = status["agents"][0];
    CHECK(first["id"] == h1.host_id);
    CHECK(first["name"] == "h1");
    CHECK(first["zone"] == "default");
    CHECK(first["algorithm"] == "roundrobin");
    CHECK(first["list"] == nlohmann::json::array({m1.address(), m2.address()}));
    CHECK(status["agents"][1]["list"] == nlohmann::json::array({m2.address(), m1.address()}));
    CHECK_FALSE(first["connected_since"].get<std::string>().empty());
    CHECK_THAT(first["address"].get<std::string>(), Catch::StartsWith("127.0.0.1:"));
    // Both servers are listed, with heartbeats, after the first liveness check.
    CHECK(wait_until([&] { return m1.status()["servers"].size() == 2; }, 3s));

    a2->close();
    CHECK(wait_until([&] { return m1.metric("agentlb_agents_connected") == 1; }, 2s));
    CHECK(m1.status()["agents"].size() == 1);
    // The heartbeat carries the agent count into the store.
    CHECK(wait_until(
        [&] {
            for (const auto& server : fixture.store().list_servers()) {
                if (server.name == "M1") {
                    return server.agents == 1;
                }
            }
            return false;
        },
        5s));
}

TEST_CASE("start-up refuses a busy port and a foreign CA with exit code 2") {
    CaFixture fixture;
    MgmtServer m1(fixture, "M1");
    const auto busy = run_command({mgmt_binary(),
                                   "--name",
                                   "M2",
                                   "--db",
                                   fixture.db_path(),
                                   "--ca-dir",
                                   fixture.ca_dir().string(),
                                   "--listen",
                                   m1.address(),
                                   "--enroll-listen",
                                   "127.0.0.1:1",
                                   "--admin-listen",
                                   "127.0.0.1:2"},
                                  10s);
    CHECK(busy.exit_code == 2);
    CHECK_THAT(busy.err, Catch::Contains("--listen"));
    // The failed start left no server row behind.
    for (const auto& server : fixture.store().list_servers()) {
        CHECK(server.name != "M2");
    }

    CaFixture other;
    const auto foreign = run_command({mgmt_binary(),
                                      "--name",
                                      "M3",
                                      "--db",
                                      fixture.db_path(),
                                      "--ca-dir",
                                      other.ca_dir().string(),
                                      "--state-dir",
                                      (fixture.dir() / "m3").string(),
                                      "--listen",
                                      "127.0.0.1:0",
                                      "--advertise",
                                      "127.0.0.1:18250",
                                      "--enroll-listen",
                                      "127.0.0.1:0",
                                      "--admin-listen",
                                      "127.0.0.1:0"},
                                     10s);
    CHECK(foreign.exit_code == 2);
    CHECK_THAT(foreign.err, Catch::Contains("CA"));

    const auto usage = run_command({mgmt_binary(), "--ca-dir", "/x"}, 10s);
    CHECK(usage.exit_code == 2);
    CHECK_THAT(usage.err, Catch::Contains("--name"));
}

TEST_CASE("a flood of idle admin connections never blocks /healthz") {
    CaFixture fixture;
    MgmtServer m1(fixture, "M1");
    // More than the 64-connection limit: silent ones, and slow ones that
    // started a request and never finish it.
    std::vector<std::unique_ptr<IdleConnection>> flood;
    for (int i = 0; i < 80; ++i) {
        const std::string bytes = i % 2 == 0 ? "" : "GET /metrics HTTP/1.1\r\nHost: x\r\n";
        flood.push_back(std::make_unique<IdleConnection>(m1.admin_port(), bytes));
        REQUIRE(flood.back()->connected());
    }
    std::this_thread::sleep_for(200ms);  // the server has accepted them all

    for (int round = 0; round < 3; ++round) {
        const auto started = std::chrono::steady_clock::now();
        const auto health = http_get(m1.admin_port(), "/healthz", 3s);
        const auto took = std::chrono::steady_clock::now() - started;
        INFO("round " << round << ": " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms");
        CHECK(health.status == 200);
        CHECK(health.body == "ok\n");
        CHECK(took < 1s);
    }
    // Room was made by closing the oldest idle connections, not the newest.
    CHECK(flood.front()->closed_by_server());
    CHECK_FALSE(flood.back()->closed_by_server());
}

namespace {

// Runs SQL on the store file through a connection of its own, bypassing the
// Store interface (to break and repair the file under a running server).
void raw_exec(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    INFO(sqlite3_errmsg(db));
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
}

}  // namespace

TEST_CASE("/healthz answers 503 naming the store's error while the store cannot be read") {
    CaFixture fixture;
    MgmtServer m1(fixture, "M1");
    REQUIRE(http_get(m1.admin_port(), "/healthz").status == 200);

    raw_exec(fixture.db_path(), "ALTER TABLE generation RENAME TO generation_moved");
    HttpResponse health;
    CHECK(wait_until(
        [&] {
            health = http_get(m1.admin_port(), "/healthz");
            return health.status == 503;
        },
        3s));
    CHECK_THAT(health.body, Catch::Contains("store"));
    CHECK_THAT(health.body, Catch::Contains("no such table: generation"));
    // Logged once, not on every poll.
    CHECK(count_lines(m1.log(), "cannot reload from the store") == 1);

    raw_exec(fixture.db_path(), "ALTER TABLE generation_moved RENAME TO generation");
    CHECK(wait_until([&] { return http_get(m1.admin_port(), "/healthz").status == 200; }, 3s));
    CHECK(http_get(m1.admin_port(), "/healthz").body == "ok\n");
    CHECK(wait_until([&] { return m1.log().find("the store answers again") != std::string::npos; }, 3s));
}
