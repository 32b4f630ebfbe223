// `host` lists near the frame limit: a legal one reaches every agent and the
// log lines stay short; an oversized one written into the store behind
// agentlbctl's back is refused by the server, which keeps serving.

#include "common/lb/message_budget.hpp"
#include "common/wire/frame.hpp"
#include "tests/mgmt/integration_helpers.hpp"
#include "tests/support/log_lines.hpp"

#include <sqlite3.h>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

// `first`, then as many 40-byte entries as `fits` allows.
template <class Fits>
std::vector<std::string> padded_list(const std::string& first, Fits fits) {
    std::vector<std::string> hosts{first};
    for (std::size_t i = 0;; ++i) {
        std::string entry = "ms" + std::to_string(i) + ".";
        entry.resize(40, 'x');
        hosts.push_back(entry);
        if (!fits(hosts)) {
            hosts.pop_back();
            return hosts;
        }
    }
}

// Stores `value` as `host` without the store's validation, as an older
// version or a hand edit would, and bumps the generation.
void write_host_unchecked(const std::string& db_path, const std::string& value) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(
                db, "UPDATE configuration SET value = ?1 WHERE name = 'host'", -1, &statement, nullptr) ==
            SQLITE_OK);
    sqlite3_bind_text(statement, 1, value.c_str(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    CHECK(sqlite3_step(statement) == SQLITE_DONE);
    sqlite3_finalize(statement);
    CHECK(sqlite3_changes(db) == 1);
    CHECK(
        sqlite3_exec(db, "UPDATE generation SET value = value + 1 WHERE id = 1", nullptr, nullptr, nullptr) ==
        SQLITE_OK);
    sqlite3_close(db);
}

// One server listing itself, h1 connected holding that list, h2 enrolled.
struct OneServer {
    CaFixture fixture;
    MgmtServer server{fixture, "M1"};
    AgentIdentity second;
    std::unique_ptr<TestAgent> agent;
    OneServer() {
        fixture.set_config("host", server.address());
        const auto first = fixture.enroll("h1");
        second = fixture.enroll("h2");
        REQUIRE(wait_synced(fixture, server));
        agent = connect_agent(fixture, first, server, server.address() + "@static");
    }
};

}  // namespace

TEST_CASE("a legal host list near the frame limit reaches every agent and log lines stay short") {
    OneServer bench;
    auto& fixture = bench.fixture;
    auto& server = bench.server;
    auto& agent = bench.agent;

    const auto hosts = padded_list(server.address(), [](const std::vector<std::string>& list) {
        return lb::largest_list_message(list).bytes <= wire::kMaxPayload;
    });
    REQUIRE(hosts.size() > 700);
    fixture.set_config("host", lb::join_host_list(hosts));

    // A connected agent is pushed the whole list, and stays connected.
    auto push = agent->receive_as<wire::MsList>(3s);
    REQUIRE(push.has_value());
    CHECK(push->list == hosts);
    REQUIRE(agent->send(wire::Ack{push->seq}));
    CHECK(agent->ping());
    // A new agent gets it as welcome's correction.
    std::optional<wire::MsList> correction;
    auto late = connect_agent(fixture, bench.second, server, "", 0, &correction);
    REQUIRE(correction.has_value());
    CHECK(correction->list == hosts);
    CHECK(late->ping());
    CHECK(wait_until([&] { return server.metric("agentlb_pushes_acked_total") == 1; }, 2s));
    CHECK(server.metric("agentlb_agents_connected") == 2);

    // The server logs at debug: each push and store generation names the
    // list, cut to a few entries.
    const auto log = server.log();
    // (find, not Contains: a failure would print the whole log)
    CHECK(log.find("... and " + std::to_string(hosts.size() - 8) + " more") != std::string::npos);
    CHECK(longest_line(log) < 2048);
}

TEST_CASE("a stored host list too large for a frame is refused by the server, which keeps serving") {
    OneServer bench;
    auto& fixture = bench.fixture;
    auto& server = bench.server;
    auto& agent = bench.agent;

    // What an older agentlbctl accepted: 4,000 entries, far over the limit.
    std::vector<std::string> hosts{server.address()};
    for (int i = 0; i < 4000; ++i) {
        hosts.push_back("mgmt-" + std::to_string(10000 + i) + ".example");
    }
    write_host_unchecked(fixture.db_path(), lb::join_host_list(hosts));
    REQUIRE(wait_synced(fixture, server));
    CHECK(wait_until(
        [&] {
            return server.log().find(
                       "stored configuration refused, keeping the previous one: host (stored "
                       "value): the list is") != std::string::npos;
        },
        2s));
    CHECK(server.log().find("65536-byte frame limit") != std::string::npos);

    // Nothing is pushed, nobody is cut off, and a newcomer still gets the
    // last good list.
    CHECK_FALSE(agent->receive_as<wire::MsList>(500ms).has_value());
    CHECK(agent->ping());
    std::optional<wire::MsList> correction;
    auto late = connect_agent(fixture, bench.second, server, "", 0, &correction);
    REQUIRE(correction.has_value());
    CHECK(correction->list == std::vector<std::string>{server.address()});
    CHECK(server.metric("agentlb_agents_connected") == 2);

    // A server started on such a store has no good list yet: it serves with
    // `host` unset (agents keep what they hold) rather than refusing to start.
    late.reset();
    MgmtServer restarted(fixture, "M2");
    CHECK(wait_until(
        [&] { return restarted.log().find("host (stored value): the list is") != std::string::npos; }, 2s));
    auto again =
        connect_agent(fixture, bench.second, restarted, server.address() + "@static", 0, &correction);
    CHECK_FALSE(correction.has_value());
    CHECK(again->ping());
}
