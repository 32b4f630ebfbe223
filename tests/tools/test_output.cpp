// Tables, JSON, RFC 3339 times and server liveness.

#include "tools/agentlbctl/output.hpp"
#include "tools/agentlbctl/server_liveness.hpp"
#include "tools/agentlbctl/time_format.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace agentlb::ctl;

TEST_CASE("tables align columns and leave no trailing spaces") {
    Table table({"ID", "NAME", "CONNECTED TO"});
    table.add_row({"1", "host-one", "ms1"});
    table.add_row({"10", "h2", ""});
    CHECK(table.rows() == 2);
    CHECK(table.render() ==
          "ID  NAME      CONNECTED TO\n"
          "1   host-one  ms1\n"
          "10  h2\n");
}

TEST_CASE("an empty table is its header - a row with too many cells is a bug") {
    Table table({"NAME", "STATE"});
    CHECK(table.render() == "NAME  STATE\n");
    CHECK_THROWS_AS(table.add_row({"a", "b", "c"}), std::logic_error);
}

TEST_CASE("control characters from the store are shown escaped") {
    Table table({"NAME"});
    table.add_row({"evil\x1b[2Jname\n"});
    CHECK(table.render() == "NAME\nevil\\x1b[2Jname\\x0a\n");
    CHECK(quote("a\"b\\c\t") == "\"a\\\"b\\\\c\\x09\"");
}

TEST_CASE("JSON keeps key order and survives invalid UTF-8") {
    std::ostringstream out;
    print_json(out, Json{{"token", "t"}, {"ca_fingerprint", "sha256:ab"}});
    CHECK(out.str() == "{\n  \"token\": \"t\",\n  \"ca_fingerprint\": \"sha256:ab\"\n}\n");

    std::ostringstream odd;
    REQUIRE_NOTHROW(print_json(odd, Json{{"name", std::string("bad\xff")}}));
    CHECK_THAT(odd.str(), Catch::Contains("bad"));
}

TEST_CASE("times in tables: never for 0, otherwise RFC 3339") {
    CHECK(format_time_or_never(0) == "never");
    CHECK(format_time_or_never(1740830400) == "2025-03-01T12:00:00Z");
}

TEST_CASE("ages are rounded for people") {
    CHECK(format_age(0) == "0 s");
    CHECK(format_age(119) == "119 s");
    CHECK(format_age(600) == "10 min");
    CHECK(format_age(3 * 3600) == "3 h");
    CHECK(format_age(5 * 86400) == "5 d");
    CHECK(format_age(-3) == "in the future");
}

TEST_CASE("a server is down when marked down or its heartbeat is older than 6 s") {
    REQUIRE(kServerStaleAfterSeconds == 6);
    const std::int64_t now = 1000;
    agentlb::store::ServerRecord server{"ms1", "10.0.0.1:8250", "up", now - 6, 2, 900};
    CHECK(judge_server(server, now).alive);
    CHECK(effective_state(server, now) == "up");

    server.last_heartbeat = now - 7;
    CHECK_FALSE(judge_server(server, now).alive);
    CHECK_THAT(judge_server(server, now).reason, Catch::Contains("7 s") && Catch::Contains("limit 6 s"));
    CHECK(effective_state(server, now) == "down");

    server.last_heartbeat = now;
    server.state = "down";
    CHECK(effective_state(server, now) == "down");
    CHECK(judge_server(server, now).reason == "marked down");

    server.state = "up";
    server.last_heartbeat = 0;
    CHECK(judge_server(server, now).reason == "never sent a heartbeat");
}

TEST_CASE("a running server shows its row's state (up, preparing or maintenance), a stale one down") {
    const std::int64_t now = 1000;
    agentlb::store::ServerRecord server{"ms1", "10.0.0.1:8250", "preparing", now - 1, 2, 900};
    CHECK(judge_server(server, now).alive);
    CHECK(effective_state(server, now) == "preparing");
    server.state = "maintenance";
    CHECK(effective_state(server, now) == "maintenance");
    CHECK(judge_server(server, now).reason.empty());
    server.last_heartbeat = now - 7;
    CHECK_FALSE(judge_server(server, now).alive);
    CHECK(effective_state(server, now) == "down");
}
