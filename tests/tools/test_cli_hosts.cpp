// agentlbctl host list / host remove / mgmt list, run as a process against a
// store seeded through its API.

#include "common/util/clock.hpp"
#include "tests/tools/ctl_fixture.hpp"

#include <catch2/catch.hpp>

#include <regex>

using namespace agentlb;
using namespace agentlb::test;

namespace {

const std::regex kRfc3339("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z");

}  // namespace

TEST_CASE("host list --json: id, name, zone, cluster or null, connected_to or null, last_seen or null") {
    CtlFixture f;
    const std::int64_t h1 = f.enrol("h1");
    const std::int64_t h2 = f.enrol("h2", "east");
    f.open()->set_connected(h1, "ms1", util::unix_now());

    const nlohmann::json hosts = f.ctl_json({"host", "list"});
    REQUIRE(hosts.is_array());
    REQUIRE(hosts.size() == 2);
    const nlohmann::json& first = hosts[0];
    CHECK(first.size() == 6);
    CHECK(first["cluster"].is_null());
    CHECK(first["id"] == h1);
    CHECK(first["name"] == "h1");
    CHECK(first["zone"] == "default");
    CHECK(first["connected_to"] == "ms1");
    REQUIRE(first["last_seen"].is_string());
    CHECK(std::regex_match(first["last_seen"].get<std::string>(), kRfc3339));

    const nlohmann::json& second = hosts[1];
    CHECK(second["id"] == h2);
    CHECK(second["id"].is_number_integer());
    CHECK(second["zone"] == "east");
    CHECK(second["connected_to"].is_null());
    CHECK(second["last_seen"].is_null());
}

TEST_CASE("host list: an aligned table with - and never for missing values") {
    CtlFixture f;
    f.enrol("h1");
    f.enrol("a-longer-name", "east");
    const CommandResult list = f.ctl({"host", "list"});
    REQUIRE(list.exit_code == 0);
    CHECK(list.out ==
          "ID  NAME           ZONE     CLUSTER  CONNECTED TO  LAST SEEN\n"
          "1   h1             default  -        -             never\n"
          "2   a-longer-name  east     -        -             never\n");
}

TEST_CASE("host remove revokes every certificate and removes the host") {
    CtlFixture f;
    f.enrol("h1");
    f.enrol("h2");
    REQUIRE(f.open()->revoked_serials().empty());

    const CommandResult removed = f.ctl({"host", "remove", "h1"});
    INFO(removed.err);
    REQUIRE(removed.exit_code == 0);
    CHECK_THAT(removed.out, Catch::Contains("removed host h1") && Catch::Contains("revoked 1 certificate"));

    auto store = f.open();
    CHECK(store->revoked_serials() == std::vector<std::string>{"serial-h1"});
    CHECK(store->is_revoked("serial-h1"));
    CHECK_FALSE(store->is_revoked("serial-h2"));
    CHECK_FALSE(store->find_host("h1").has_value());
    CHECK(store->find_host("h2").has_value());

    const nlohmann::json hosts = f.ctl_json({"host", "list"});
    REQUIRE(hosts.size() == 1);
    CHECK(hosts[0]["name"] == "h2");
}

TEST_CASE("host remove --json lists the revoked serials - an unknown name is refused (exit 2)") {
    CtlFixture f;
    f.enrol("h1");
    const nlohmann::json removed = f.ctl_json({"host", "remove", "h1"});
    CHECK(removed == nlohmann::json{{"name", "h1"}, {"revoked_serials", {"serial-h1"}}});

    const CommandResult again = f.ctl({"host", "remove", "h1"});
    CHECK(again.exit_code == 2);
    CHECK_THAT(again.err, Catch::Contains("no host named \"h1\""));
    CHECK(again.out.empty());
}

TEST_CASE("mgmt list --json: state is down when marked down or the heartbeat is older than 6 s") {
    CtlFixture f;
    const std::int64_t now = util::unix_now();
    {
        auto store = f.open();
        store->register_server("ms1", "10.0.0.1:8250", now);
        store->heartbeat_server("ms1", now, 3);
        store->register_server("ms2", "10.0.0.2:8250", now - 100);  // stale: no heartbeat since
        store->register_server("ms3", "10.0.0.3:8250", now);
        store->set_server_state("ms3", "down");
    }
    const nlohmann::json servers = f.ctl_json({"mgmt", "list"});
    REQUIRE(servers.is_array());
    REQUIRE(servers.size() == 3);
    const nlohmann::json& ms1 = servers[0];
    CHECK(ms1.size() == 6);
    CHECK(ms1["maintenance"] == false);
    CHECK(ms1["name"] == "ms1");
    CHECK(ms1["address"] == "10.0.0.1:8250");
    CHECK(ms1["state"] == "up");
    REQUIRE(ms1["last_heartbeat"].is_string());
    CHECK(std::regex_match(ms1["last_heartbeat"].get<std::string>(), kRfc3339));
    CHECK(ms1["agents"] == 3);
    CHECK(servers[1]["name"] == "ms2");
    CHECK(servers[1]["state"] == "down");
    CHECK(servers[2]["name"] == "ms3");
    CHECK(servers[2]["state"] == "down");

    const CommandResult table = f.ctl({"mgmt", "list"});
    REQUIRE(table.exit_code == 0);
    CHECK_THAT(table.out,
               Catch::StartsWith("NAME  ADDRESS        STATE  MAINTENANCE  LAST HEARTBEAT        AGENTS\n"));
    CHECK_THAT(table.out, Catch::Contains("ms2   10.0.0.2:8250  down"));
}
