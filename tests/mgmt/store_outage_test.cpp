// agentlb-mgmt while its SQLite store is unreachable (tests/support/
// store_away.hpp takes it away under the server): the scenarios of
// store_outage_scenarios.hpp, and a record write redone after it failed.

#include "tests/mgmt/store_outage_scenarios.hpp"
#include "tests/support/store_away.hpp"

using namespace agentlb;
using namespace agentlb::test;
using namespace agentlb::test::outage;
using namespace std::chrono_literals;

namespace {

TakeAway sqlite_away(const CaFixture& fixture) {
    return [path = fixture.db_path()] { return std::make_unique<AwayAs<StoreAway>>(path); };
}

}  // namespace

TEST_CASE("without its store a server keeps its sessions and welcomes known hosts from its last snapshot") {
    CaFixture fixture;
    sessions_stay_and_known_hosts_are_welcomed(fixture, sqlite_away(fixture));
}

TEST_CASE("a session whose record could not be written names its server once the store takes writes") {
    // The host's record names M2, which still holds an older session: the
    // newest session's server must be named, as at welcome, not only an
    // empty record claimed.
    CaFixture fixture;
    MgmtServer m1(fixture, "M1", kShortLiveness);
    MgmtServer m2(fixture, "M2", kShortLiveness);
    fixture.set_config("host", lb::join_host_list({m1.address(), m2.address()}));
    auto h1 = fixture.enroll("h1");
    REQUIRE(wait_synced(fixture, m1));
    REQUIRE(wait_synced(fixture, m2));
    auto older = connect_agent(fixture, h1, m2);
    REQUIRE(wait_until([&] { return connected_to(fixture, "h1") == std::optional<std::string>("M2"); }, 2s));

    const std::string kRefuseRecords =
        "CREATE TRIGGER refuse_records BEFORE UPDATE OF connected_to ON hosts "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END";
    sqlite_exec(fixture.db_path(), kRefuseRecords);
    auto newer = connect_agent(fixture, h1, m1);
    REQUIRE(
        wait_until([&] { return m1.log().find("cannot record the connection") != std::string::npos; }, 3s));
    sqlite_exec(fixture.db_path(), "DROP TRIGGER refuse_records");

    INFO(m1.log());
    CHECK(wait_until([&] { return connected_to(fixture, "h1") == std::optional<std::string>("M1"); }, 3s));
    CHECK(newer->ping());
    // M2 learns of the newer session and closes its own after the grace period.
    auto error = older->receive_as<wire::Error>(6s);
    REQUIRE(error.has_value());
    CHECK(error->code == "superseded");
    CHECK(connected_to(fixture, "h1") == std::optional<std::string>("M1"));
}

TEST_CASE("enrollment without the store is answered a retryable unavailable and works once it is back") {
    CaFixture fixture;
    enrollment_is_told_to_retry(fixture, sqlite_away(fixture));
}

TEST_CASE(
    "past agentlb.store.unreachable.limit a server moves its agents away and refuses hellos until the "
    "store is back") {
    CaFixture fixture;
    past_the_limit_agents_are_moved_away(fixture, sqlite_away(fixture));
}
