// agentlb-mgmt while its PostgreSQL store is unreachable: the scenarios of
// store_outage_scenarios.hpp on the run's throwaway cluster, with only this
// test's database made unreachable (tests/support/pg_database.hpp's
// PgDatabaseAway: new connections refused, the open ones ended, as a
// stopped PostgreSQL looks to a server).

#include "tests/mgmt/store_outage_scenarios.hpp"
#include "tests/support/pg_database.hpp"

using namespace agentlb;
using namespace agentlb::test;
using namespace agentlb::test::outage;

namespace {

struct PgBench {
    PgTestDatabase database;
    CaFixture fixture{database.uri()};

    TakeAway take_away() {
        return [this] { return std::make_unique<AwayAs<PgDatabaseAway>>(database); };
    }
};

}  // namespace

TEST_CASE(
    "PostgreSQL unreachable: sessions stay, known hosts are welcomed from the snapshot and recorded after") {
    PgBench bench;
    sessions_stay_and_known_hosts_are_welcomed(bench.fixture, bench.take_away());
}

TEST_CASE(
    "PostgreSQL unreachable: enrollment is answered a retryable unavailable and works once it is back") {
    PgBench bench;
    enrollment_is_told_to_retry(bench.fixture, bench.take_away());
}

TEST_CASE("PostgreSQL unreachable past the limit: agents are moved away, hellos refused until it is back") {
    PgBench bench;
    past_the_limit_agents_are_moved_away(bench.fixture, bench.take_away());
}

TEST_CASE("PostgreSQL cut from one server alone: past the limit its agents move to a server that sees it") {
    PgTestDatabase database;
    CaFixture fixture(database.uri());
    PgServerRole m1_role(database);  // M1 alone reaches the store as this role
    auto m1_args = kShortLiveness;
    m1_args.insert(m1_args.end(), {"--db", m1_role.uri()});
    MgmtServer m1(fixture, "M1", m1_args);
    MgmtServer m2(fixture, "M2", kShortLiveness);
    fixture.set_config("host", lb::join_host_list({m1.address(), m2.address()}));
    fixture.set_config("agentlb.store.unreachable.limit", "2");
    auto h1 = fixture.enroll("h1");
    REQUIRE(wait_synced(fixture, m1));
    REQUIRE(wait_synced(fixture, m2));
    auto on_m1 = connect_agent(fixture, h1, m1);
    REQUIRE(wait_until([&] { return connected_to(fixture, "h1") == std::optional<std::string>("M1"); }, 2s));

    m1_role.cut();
    auto migrate = on_m1->receive_as<wire::Migrate>(8s);
    INFO(m1.log());
    REQUIRE(migrate.has_value());
    CHECK(std::find(migrate->avoid.begin(), migrate->avoid.end(), m1.address()) != migrate->avoid.end());
    // What the agent does with it: its next entry, M2, which sees the store,
    // then it retires the old session.
    auto on_m2 = connect_agent(fixture, h1, m2);
    on_m1->close();
    CHECK(wait_until([&] { return connected_to(fixture, "h1") == std::optional<std::string>("M2"); }, 3s));
    CHECK(error_code_of(hello_answer(fixture, h1, m1)) == "unavailable");
    CHECK(http_get(m2.admin_port(), "/healthz").status == 200);
    // The shared configuration reaches it there.
    fixture.set_config("indirect.agent.lb.check.interval", "7");
    CHECK(
        on_m2->receive_until<wire::MsList>([](const wire::MsList& list) { return list.interval == 7; }, 3s));

    m1_role.restore();
    CHECK(wait_until([&] { return m1.metric("agentlb_serving") == 1; }, kBackWithin));
    // M1 back takes nothing from M2: the host stays recorded there.
    std::this_thread::sleep_for(1500ms);
    CHECK(connected_to(fixture, "h1") == std::optional<std::string>("M2"));
    CHECK(on_m2->ping());
}
