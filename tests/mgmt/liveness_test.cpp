// Server liveness under faults: a stalled store, a row marked down or deleted
// behind a live server's back, a second process under a live name, and a
// host whose key is used by two sessions on two servers.

#include "common/util/clock.hpp"
#include "tests/mgmt/integration_helpers.hpp"
#include "tests/support/ports.hpp"

#include <sqlite3.h>

#include <signal.h>
#include <stdexcept>
#include <thread>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> kShortLiveness{"--server-heartbeat-interval", "1"};

// A raw SQLite connection of the test's own, for what no Store call does:
// holding the write lock, deleting a server's row.
class RawDb {
public:
    explicit RawDb(const std::string& path) {
        if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
            throw std::runtime_error("cannot open " + path);
        }
        sqlite3_busy_timeout(db_, 5000);
    }
    ~RawDb() { sqlite3_close(db_); }
    RawDb(const RawDb&) = delete;
    RawDb& operator=(const RawDb&) = delete;

    void exec(const std::string& sql) {
        char* error = nullptr;
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
            const std::string text = error != nullptr ? error : "?";
            sqlite3_free(error);
            throw std::runtime_error(sql + ": " + text);
        }
    }

private:
    sqlite3* db_ = nullptr;
};

std::optional<std::string> connected_to(CaFixture& fixture, const std::string& host) {
    return fixture.store().find_host(host)->connected_to;
}

std::optional<store::ServerRecord> server_row(CaFixture& fixture, const std::string& name) {
    for (auto& server : fixture.store().list_servers()) {
        if (server.name == name) {
            return server;
        }
    }
    return std::nullopt;
}

bool is_up(CaFixture& fixture, const std::string& name) {
    const auto row = server_row(fixture, name);
    return row && row->state == "up";
}

}  // namespace

TEST_CASE("a store stall longer than the liveness limit marks no server down and keeps every record") {
    CaFixture fixture;
    MgmtServer m1(fixture, "M1", kShortLiveness);
    MgmtServer m2(fixture, "M2", kShortLiveness);
    fixture.set_config("host", lb::join_host_list({m1.address(), m2.address()}));
    auto h1 = fixture.enroll("h1");
    auto h2 = fixture.enroll("h2");
    REQUIRE(wait_synced(fixture, m1));
    REQUIRE(wait_synced(fixture, m2));
    auto a1 = connect_agent(fixture, h1, m1);
    auto a2 = connect_agent(fixture, h2, m2);
    const auto records_right = [&] {
        return connected_to(fixture, "h1") == std::optional<std::string>("M1") &&
               connected_to(fixture, "h2") == std::optional<std::string>("M2");
    };
    REQUIRE(wait_until(records_right, 2s));

    {
        // Twice the liveness limit (3 s) and past the servers' busy timeout (5 s).
        RawDb db(fixture.db_path());
        db.exec("BEGIN EXCLUSIVE");
        std::this_thread::sleep_for(6500ms);
        db.exec("COMMIT");
    }

    // Long enough for every queued check to run and for a real liveness
    // judgement to have been taken.
    int bad_samples = 0;
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < until) {
        if (!is_up(fixture, "M1") || !is_up(fixture, "M2") || !records_right()) {
            ++bad_samples;
        }
        std::this_thread::sleep_for(50ms);
    }
    INFO("M1 log:\n" << m1.log() << "\nM2 log:\n" << m2.log());
    CHECK(bad_samples == 0);
    CHECK(is_up(fixture, "M1"));
    CHECK(is_up(fixture, "M2"));
    CHECK(records_right());
    CHECK_THAT(m1.log() + m2.log(), !Catch::Contains("is down"));
    CHECK(a1->ping());
    CHECK(a2->ping());
}

TEST_CASE("a live server marked down or deleted behind its back is up again and its hosts name it") {
    CaFixture fixture;
    MgmtServer m1(fixture, "M1", kShortLiveness);
    fixture.set_config("host", m1.address());
    auto h1 = fixture.enroll("h1");
    auto h2 = fixture.enroll("h2");
    REQUIRE(wait_synced(fixture, m1));
    auto a1 = connect_agent(fixture, h1, m1);
    auto a2 = connect_agent(fixture, h2, m1);
    const auto records_right = [&] {
        return connected_to(fixture, "h1") == std::optional<std::string>("M1") &&
               connected_to(fixture, "h2") == std::optional<std::string>("M1");
    };
    REQUIRE(wait_until(records_right, 2s));

    SECTION("marked down by another server, which clears its hosts") {
        fixture.store().set_server_state("M1", "down");
        fixture.store().clear_connected_for_server("M1");
    }
    SECTION("row deleted by hand") {
        RawDb db(fixture.db_path());
        db.exec("DELETE FROM servers WHERE name = 'M1'");
        db.exec("UPDATE generation SET value = value + 1");
    }

    INFO(m1.log());
    CHECK(wait_until([&] { return is_up(fixture, "M1") && records_right(); }, 4s));
    // Nothing clears them again later.
    std::this_thread::sleep_for(1500ms);
    CHECK(is_up(fixture, "M1"));
    CHECK(records_right());
    CHECK(server_row(fixture, "M1")->address == m1.address());
    CHECK(a1->ping());
    CHECK(a2->ping());
}

TEST_CASE("a second agentlb-mgmt under a live server's name is refused, after a crash it takes over") {
    CaFixture fixture;
    auto first = std::make_unique<MgmtServer>(fixture, "M1", kShortLiveness);
    const auto first_address = first->address();

    const auto port = free_port();
    auto argv =
        mgmt_command_line(fixture, "M1", loopback(port), loopback(free_port()), loopback(free_port()));
    argv.insert(argv.end(), kShortLiveness.begin(), kShortLiveness.end());
    Process second(argv, fixture.dir() / "second-M1.log");
    const auto code = second.wait(10s);
    INFO(second.log());
    REQUIRE(code.has_value());
    CHECK(*code == 2);
    CHECK_THAT(
        second.log(),
        Catch::Contains("M1") && Catch::Contains(first_address) && Catch::Contains("is already running"));
    // The live one keeps its row.
    CHECK(is_up(fixture, "M1"));
    CHECK(server_row(fixture, "M1")->address == first_address);
    CHECK(first->process().is_running());

    // A crash leaves the row "up": the next start waits for its heartbeat to
    // go stale, then takes over.
    first->process().kill(SIGKILL);
    REQUIRE(first->process().wait(2s).has_value());
    MgmtServer again(fixture, "M1", kShortLiveness);
    CHECK(is_up(fixture, "M1"));
    CHECK(server_row(fixture, "M1")->address == again.address());
}

TEST_CASE("a host's second session on another server wins and the older server closes its session") {
    CaFixture fixture;
    MgmtServer m1(fixture, "M1", kShortLiveness);
    MgmtServer m2(fixture, "M2", kShortLiveness);
    fixture.set_config("host", lb::join_host_list({m1.address(), m2.address()}));
    auto h1 = fixture.enroll("h1");
    REQUIRE(wait_synced(fixture, m1));
    REQUIRE(wait_synced(fixture, m2));
    auto older = connect_agent(fixture, h1, m1);
    REQUIRE(wait_until([&] { return connected_to(fixture, "h1") == std::optional<std::string>("M1"); }, 2s));
    auto newer = connect_agent(fixture, h1, m2);
    CHECK(connected_to(fixture, "h1") == std::optional<std::string>("M2"));

    SECTION("both stay: after a grace period the older one is closed with a reason") {
        // Not at once: a make-before-break switch closes the old session itself.
        CHECK(older->ping());
        auto error = older->receive_as<wire::Error>(6s);
        INFO(m1.log());
        REQUIRE(error.has_value());
        CHECK(error->code == "superseded");
        CHECK_THAT(error->message, Catch::Contains("M2"));
        CHECK(older->wait_closed(2s));
        CHECK_THAT(m1.log(), Catch::Contains("superseded"));
        std::this_thread::sleep_for(500ms);
        CHECK(connected_to(fixture, "h1") == std::optional<std::string>("M2"));
        CHECK(newer->ping());

        newer->close();
        CHECK(wait_until([&] { return !connected_to(fixture, "h1").has_value(); }, 2s));
    }
    SECTION("the newer one closes first: the store names the server of the one left") {
        newer->close();
        INFO(m1.log());
        CHECK(
            wait_until([&] { return connected_to(fixture, "h1") == std::optional<std::string>("M1"); }, 6s));
        CHECK(older->ping());
        std::this_thread::sleep_for(1s);
        CHECK(connected_to(fixture, "h1") == std::optional<std::string>("M1"));
        CHECK_FALSE(older->is_closed());
    }
}

TEST_CASE("two sessions of one host on one server are not superseded and the record names the server") {
    CaFixture fixture;
    MgmtServer m1(fixture, "M1", kShortLiveness);
    fixture.set_config("host", m1.address());
    auto h1 = fixture.enroll("h1");
    REQUIRE(wait_synced(fixture, m1));
    auto first = connect_agent(fixture, h1, m1);
    auto second = connect_agent(fixture, h1, m1);
    // Past the grace period (2 server heartbeat intervals).
    std::this_thread::sleep_for(3s);
    CHECK(first->ping());
    CHECK(second->ping());
    CHECK(connected_to(fixture, "h1") == std::optional<std::string>("M1"));
    CHECK_THAT(m1.log(), !Catch::Contains("superseded"));

    second->close();
    REQUIRE(wait_until([&] { return m1.metric("agentlb_agents_connected") == 1; }, 2s));
    CHECK(connected_to(fixture, "h1") == std::optional<std::string>("M1"));
    first->close();
    CHECK(wait_until([&] { return !connected_to(fixture, "h1").has_value(); }, 2s));
}

TEST_CASE("a session record that could not be written or cleared is fixed once the store takes writes") {
    CaFixture fixture;
    MgmtServer m1(fixture, "M1", kShortLiveness);
    fixture.set_config("host", m1.address());
    auto h1 = fixture.enroll("h1");
    REQUIRE(wait_synced(fixture, m1));
    RawDb db(fixture.db_path());
    // A write that fails at once, as one does after the busy timeout.
    const std::string kRefuseRecords =
        "CREATE TRIGGER refuse_records BEFORE UPDATE OF connected_to ON hosts "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END";
    db.exec(kRefuseRecords);
    auto a1 = connect_agent(fixture, h1, m1);
    std::this_thread::sleep_for(1500ms);
    CHECK_FALSE(connected_to(fixture, "h1").has_value());
    CHECK_THAT(m1.log(), Catch::Contains("cannot record the connection"));

    db.exec("DROP TRIGGER refuse_records");
    INFO(m1.log());
    CHECK(wait_until([&] { return connected_to(fixture, "h1") == std::optional<std::string>("M1"); }, 3s));
    CHECK(a1->ping());

    // The same for the clearing when the session ends.
    db.exec(kRefuseRecords);
    a1->close();
    REQUIRE(
        wait_until([&] { return m1.log().find("cannot clear the connection") != std::string::npos; }, 3s));
    CHECK(connected_to(fixture, "h1") == std::optional<std::string>("M1"));
    db.exec("DROP TRIGGER refuse_records");
    CHECK(wait_until([&] { return !connected_to(fixture, "h1").has_value(); }, 3s));
}

TEST_CASE(
    "a draining or maintenance server is alive: it keeps its state and name, and is marked down when it "
    "dies") {
    CaFixture fixture;
    auto m1 = std::make_unique<MgmtServer>(fixture, "M1", kShortLiveness);
    MgmtServer m2(fixture, "M2", kShortLiveness);
    fixture.set_config("host", m1->address() + "," + m2.address());
    REQUIRE(wait_synced(fixture, *m1));
    REQUIRE(fixture.store().begin_maintenance("M1", util::unix_now(), 6).ok());
    const auto draining_or_drained = [&] {
        const auto row = server_row(fixture, "M1");
        return row && (row->state == "preparing" || row->state == "maintenance");
    };
    // Several liveness checks later it has not put itself back up.
    for (int i = 0; i < 12; ++i) {
        std::this_thread::sleep_for(250ms);
        INFO(m1->log());
        REQUIRE(draining_or_drained());
    }
    CHECK_THAT(m1->log(), !Catch::Contains("marked up again"));

    // Its name stays taken.
    auto argv =
        mgmt_command_line(fixture, "M1", loopback(free_port()), loopback(free_port()), loopback(free_port()));
    argv.insert(argv.end(), kShortLiveness.begin(), kShortLiveness.end());
    Process second(argv, fixture.dir() / "second-M1.log");
    const auto code = second.wait(10s);
    INFO(second.log());
    REQUIRE(code.has_value());
    CHECK(*code == 2);

    // Dead, it is judged down by its peer like any server; the operator's request stays.
    m1->process().kill(SIGKILL);
    REQUIRE(m1->process().wait(2s).has_value());
    INFO(m2.log());
    CHECK(wait_until([&] { return server_row(fixture, "M1")->state == "down"; }, 10s));
    CHECK(server_row(fixture, "M1")->maintenance);
}
