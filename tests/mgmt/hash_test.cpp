// `hash` with a real server: every agent gets the list the algorithm gives
// its host id, and a change of agentlb.server.weights pushes new lists to
// exactly the agents whose order changes.

#include "common/lb/algorithm.hpp"
#include "tests/mgmt/integration_helpers.hpp"

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

TEST_CASE("hash: agents get their hash lists, and a weight change pushes only the lists that change") {
    CaFixture fixture;
    MgmtServer server(fixture, "M1");
    // Two entries name no server: nothing avoids them, and the order is all
    // that is looked at here.
    const std::vector<std::string> hosts{server.address(), "127.0.0.1:1", "127.0.0.1:2"};
    fixture.set_config("host", lb::join_host_list(hosts));
    fixture.set_config("indirect.agent.lb.algorithm", "hash");
    std::vector<AgentIdentity> identities;
    for (int i = 0; i < 12; ++i) {
        identities.push_back(fixture.enroll("h" + std::to_string(i)));
    }
    REQUIRE(wait_synced(fixture, server));

    const lb::Algorithm& hash = **lb::find_algorithm("hash");
    const std::vector<std::int64_t> no_ids;
    auto expected = [&](std::int64_t host_id, const lb::Weights& weights) {
        return hash.compute({hosts, no_ids, host_id, weights});
    };

    std::vector<std::unique_ptr<TestAgent>> agents;
    for (const auto& identity : identities) {
        std::optional<wire::MsList> correction;
        agents.push_back(connect_agent(fixture, identity, server, "", 0, &correction));
        REQUIRE(correction.has_value());
        CHECK(correction->algorithm == "hash");
        CHECK(correction->list == expected(identity.host_id, {}));
    }

    const lb::Weights weights{{"127.0.0.1:1", 5}};
    std::vector<std::size_t> changed;
    std::vector<std::size_t> unchanged;
    for (std::size_t i = 0; i < identities.size(); ++i) {
        const auto id = identities[i].host_id;
        (expected(id, weights) == expected(id, {}) ? unchanged : changed).push_back(i);
    }
    // Both kinds, or the test would show nothing.
    REQUIRE_FALSE(changed.empty());
    REQUIRE_FALSE(unchanged.empty());

    fixture.set_config("agentlb.server.weights", "127.0.0.1:1=5");
    for (std::size_t i : changed) {
        INFO("agent " << identities[i].name);
        auto pushed = agents[i]->receive_as<wire::MsList>(3s);
        REQUIRE(pushed.has_value());
        CHECK(pushed->algorithm == "hash");
        CHECK(pushed->list == expected(identities[i].host_id, weights));
        CHECK(agents[i]->send(wire::Ack{pushed->seq}));
    }
    REQUIRE(wait_synced(fixture, server));
    for (std::size_t i : unchanged) {
        INFO("agent " << identities[i].name);
        CHECK_FALSE(agents[i]->receive_as<wire::MsList>(300ms).has_value());
    }
}
