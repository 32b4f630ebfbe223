// Configuration per zone and per cluster with real servers: each agent's
// list follows its host's zone and cluster, and a scoped change or a host
// moved reaches exactly the agents it changes, within a second.

#include "tests/mgmt/integration_helpers.hpp"

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;
using lb::ConfigScope;

namespace {

struct Placed {
    std::string name;
    std::unique_ptr<TestAgent> agent;
};

// The next list within a second of `since`, acknowledged.
wire::MsList next_list(Placed& placed, std::chrono::steady_clock::time_point since) {
    auto push = placed.agent->receive_as<wire::MsList>(1s);
    INFO("agent " << placed.name);
    REQUIRE(push.has_value());
    CHECK(std::chrono::steady_clock::now() - since < 1s);
    CHECK(placed.agent->send(wire::Ack{push->seq}));
    return *push;
}

void expect_no_list(Placed& placed) {
    INFO("agent " << placed.name << " got a list it should not have");
    CHECK_FALSE(placed.agent->receive_as<wire::MsList>(300ms).has_value());
}

}  // namespace

TEST_CASE("scoped values and host moves push new lists to exactly the agents they change") {
    CaFixture fixture;
    MgmtServer m1(fixture, "M1");
    MgmtServer m2(fixture, "M2");
    const std::vector<std::string> forward{m1.address(), m2.address()};
    const std::vector<std::string> backward{m2.address(), m1.address()};
    fixture.set_config("host", lb::join_host_list(forward));
    // Set before the agents come: a host gets its zone's values at once.
    REQUIRE(fixture.store().set_scoped_config(ConfigScope{"east", ""}, "host", lb::join_host_list(backward)));

    const auto west = fixture.enroll("h1", "west");
    const auto east = fixture.enroll("h2", "east");
    const auto in_cluster = fixture.enroll("h3", "east");
    REQUIRE(fixture.store().move_host("h3", ConfigScope{"east", "c1"}));
    REQUIRE(wait_synced(fixture, m1));
    REQUIRE(wait_synced(fixture, m2));

    std::vector<Placed> agents;
    for (const auto& [identity, server, expected] :
         {std::tuple{west, &m1, forward}, {east, &m1, backward}, {in_cluster, &m2, backward}}) {
        std::optional<wire::MsList> correction;
        agents.push_back(
            Placed{identity.name, connect_agent(fixture, identity, *server, "", 0, &correction)});
        INFO("agent " << identity.name);
        REQUIRE(correction.has_value());
        CHECK(correction->list == expected);
        CHECK(correction->algorithm == "static");
    }
    Placed& h1 = agents[0];
    Placed& h2 = agents[1];
    Placed& h3 = agents[2];

    SECTION("a cluster's value reaches only its hosts, on the server holding them") {
        auto since = std::chrono::steady_clock::now();
        REQUIRE(fixture.store().set_scoped_config(
            ConfigScope{"east", "c1"}, "indirect.agent.lb.check.interval", "30"));
        const auto pushed = next_list(h3, since);
        CHECK(pushed.interval == 30);
        CHECK(pushed.list == backward);
        expect_no_list(h1);
        expect_no_list(h2);

        // Removing it brings the zone's value back, for the same host only.
        since = std::chrono::steady_clock::now();
        REQUIRE(fixture.store().unset_scoped_config(ConfigScope{"east", "c1"},
                                                    "indirect.agent.lb.check.interval"));
        CHECK(next_list(h3, since).interval == 0);
        expect_no_list(h1);
        expect_no_list(h2);
    }

    SECTION("a zone's value reaches its hosts, its clusters' included, and no other") {
        const auto since = std::chrono::steady_clock::now();
        REQUIRE(
            fixture.store().set_scoped_config(ConfigScope{"east", ""}, "host", lb::join_host_list(forward)));
        CHECK(next_list(h2, since).list == forward);
        CHECK(next_list(h3, since).list == forward);
        expect_no_list(h1);
    }

    SECTION("a global change skips the hosts whose zone sets the key") {
        const auto since = std::chrono::steady_clock::now();
        fixture.set_config("host", lb::join_host_list(backward));
        CHECK(next_list(h1, since).list == backward);
        expect_no_list(h2);
        expect_no_list(h3);
    }

    SECTION("a host moved to another zone and cluster gets that place's list, and no other host is told") {
        REQUIRE(fixture.store().set_scoped_config(
            ConfigScope{"east", "c1"}, "indirect.agent.lb.algorithm", "shuffle"));
        // h3 only: its list under shuffle may keep its order, but the algorithm changed.
        CHECK(next_list(h3, std::chrono::steady_clock::now()).algorithm == "shuffle");
        expect_no_list(h1);
        expect_no_list(h2);

        const auto since = std::chrono::steady_clock::now();
        REQUIRE(fixture.store().move_host("h1", ConfigScope{"east", "c1"}));
        const auto moved = next_list(h1, since);
        CHECK(moved.algorithm == "shuffle");
        CHECK((moved.list == forward || moved.list == backward));
        expect_no_list(h2);
        expect_no_list(h3);
        // The session stays open: its host was moved, not removed.
        CHECK(h1.agent->send(wire::Ping{}));
        CHECK(h1.agent->receive_as<wire::Pong>(1s).has_value());
    }
}
