// Several real agentlb-mgmt processes sharing one SQLite file.

#include "tests/mgmt/integration_helpers.hpp"

#include <signal.h>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

struct ThreeServers {
    CaFixture fixture;
    std::vector<std::unique_ptr<MgmtServer>> servers;
    std::vector<std::string> addresses;

    explicit ThreeServers(std::vector<std::string> extra = {}) {
        for (int i = 1; i <= 3; ++i) {
            servers.push_back(std::make_unique<MgmtServer>(fixture, "M" + std::to_string(i), extra));
            addresses.push_back(servers.back()->address());
        }
        fixture.set_config("host", lb::join_host_list(addresses));
    }
    MgmtServer& operator[](std::size_t i) { return *servers[i]; }
    void sync() {
        for (auto& server : servers) {
            if (server->process().is_running()) {
                REQUIRE(wait_synced(fixture, *server));
            }
        }
    }
};

std::vector<std::string> rotate(std::vector<std::string> list, std::size_t by) {
    std::rotate(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(by % list.size()), list.end());
    return list;
}

}  // namespace

TEST_CASE("roundrobin lists match the design example for hosts 1..4 over M1..M3") {
    ThreeServers cluster;
    cluster.fixture.set_config("indirect.agent.lb.algorithm", "roundrobin");
    std::vector<AgentIdentity> hosts;
    for (int i = 1; i <= 4; ++i) {
        hosts.push_back(cluster.fixture.enroll("h" + std::to_string(i)));
        CHECK(hosts.back().host_id == i);
    }
    cluster.sync();
    const auto& m = cluster.addresses;
    const std::vector<std::vector<std::string>> expected{
        {m[0], m[1], m[2]}, {m[1], m[2], m[0]}, {m[2], m[0], m[1]}, {m[0], m[1], m[2]}};
    // Every server computes the same list for the same host.
    for (std::size_t s = 0; s < 3; ++s) {
        for (std::size_t h = 0; h < hosts.size(); ++h) {
            std::optional<wire::MsList> correction;
            auto agent = connect_agent(cluster.fixture, hosts[h], cluster[s], "", 0, &correction);
            INFO("host h" << h + 1 << " on " << cluster[s].name());
            REQUIRE(correction.has_value());
            CHECK(correction->list == expected[h]);
            CHECK(correction->algorithm == "roundrobin");
            CHECK(correction->avoid.empty());
        }
    }
    // An agent that already holds its list gets no correction.
    std::optional<wire::MsList> correction;
    auto agent = connect_agent(
        cluster.fixture, hosts[1], cluster[0], sequence_text(expected[1]) + "@roundrobin", 0, &correction);
    CHECK_FALSE(correction.has_value());
}

TEST_CASE("a config change reaches connected agents on every server in under a second") {
    ThreeServers cluster;
    std::vector<std::unique_ptr<TestAgent>> agents;
    for (int i = 0; i < 3; ++i) {
        auto identity = cluster.fixture.enroll("h" + std::to_string(i + 1));
        cluster.sync();
        std::optional<wire::MsList> correction;
        agents.push_back(connect_agent(
            cluster.fixture, identity, cluster[static_cast<std::size_t>(i)], "", 0, &correction));
        REQUIRE(correction.has_value());
        CHECK(correction->list == cluster.addresses);  // static by default
    }

    const auto started = std::chrono::steady_clock::now();
    cluster.fixture.set_config("indirect.agent.lb.algorithm", "roundrobin");
    for (std::size_t i = 0; i < agents.size(); ++i) {
        auto push = agents[i]->receive_as<wire::MsList>(1s);
        INFO("agent h" << i + 1);
        REQUIRE(push.has_value());
        CHECK(push->algorithm == "roundrobin");
        CHECK(push->list == rotate(cluster.addresses, i));
        CHECK(agents[i]->send(wire::Ack{push->seq}));
    }
    CHECK(std::chrono::steady_clock::now() - started < 1s);

    cluster.fixture.set_config("indirect.agent.lb.check.interval", "60");
    for (auto& agent : agents) {
        auto push = agent->receive_as<wire::MsList>(1s);
        REQUIRE(push.has_value());
        CHECK(push->interval == 60);
        CHECK(agent->send(wire::Ack{push->seq}));
    }
#ifdef AGENTLB_CTL_BIN
    // The operator's tool goes through the same store.
    const auto set = run_command({AGENTLB_CTL_BIN,
                                  "--db",
                                  cluster.fixture.db_path(),
                                  "config",
                                  "set",
                                  "indirect.agent.lb.check.interval",
                                  "30"});
    INFO(set.err);
    REQUIRE(set.exit_code == 0);
    for (auto& agent : agents) {
        auto push = agent->receive_as<wire::MsList>(1s);
        REQUIRE(push.has_value());
        CHECK(push->interval == 30);
    }
#endif
    // A new `host` value: every agent gets its rotation of the new order.
    const std::vector<std::string> reversed(cluster.addresses.rbegin(), cluster.addresses.rend());
    cluster.fixture.set_config("host", lb::join_host_list(reversed));
    for (std::size_t i = 0; i < agents.size(); ++i) {
        auto push = agents[i]->receive_as<wire::MsList>(1s);
        INFO("agent h" << i + 1);
        REQUIRE(push.has_value());
        CHECK(push->list == rotate(reversed, i));
        CHECK(agents[i]->send(wire::Ack{push->seq}));
    }
    // Acks are counted by the server that pushed.
    CHECK(wait_until([&] { return cluster[0].metric("agentlb_pushes_acked_total") >= 2; }, 2s));
    CHECK(cluster[0].metric("agentlb_pushes_sent_total") >= 2);
}

TEST_CASE("removing a host re-sorts the others and closes its session") {
    CaFixture fixture;
    MgmtServer server(fixture, "M1");
    // Only M1 runs; the other entries are addresses nobody registered.
    const std::vector<std::string> hosts{server.address(), "127.0.0.1:1", "127.0.0.1:2"};
    fixture.set_config("host", lb::join_host_list(hosts));
    fixture.set_config("indirect.agent.lb.algorithm", "roundrobin");
    std::vector<AgentIdentity> identities;
    std::vector<std::unique_ptr<TestAgent>> agents;
    for (int i = 1; i <= 4; ++i) {
        identities.push_back(fixture.enroll("h" + std::to_string(i)));
    }
    REQUIRE(wait_synced(fixture, server));
    for (const auto& identity : identities) {
        agents.push_back(connect_agent(fixture, identity, server));
    }

    REQUIRE(fixture.store().remove_host("h2").ok());
    auto error = agents[1]->receive_as<wire::Error>(2s);
    REQUIRE(error.has_value());
    CHECK(error->code == "revoked");
    CHECK(agents[1]->wait_closed(2s));

    // h3 and h4 moved up one position; h1 kept its list (no push).
    auto h3 = agents[2]->receive_as<wire::MsList>(1s);
    REQUIRE(h3.has_value());
    CHECK(h3->list == rotate(hosts, 1));
    auto h4 = agents[3]->receive_as<wire::MsList>(1s);
    REQUIRE(h4.has_value());
    CHECK(h4->list == rotate(hosts, 2));
    CHECK_FALSE(agents[0]->receive_as<wire::MsList>(300ms).has_value());
    CHECK(agents[0]->ping());

    // The removed host cannot come back.
    TestAgent again(identities[1], fixture.ca_pem());
    if (again.connect(server.address()).empty()) {
        auto answer = again.hello();
        CHECK_FALSE((answer && std::holds_alternative<wire::Welcome>(*answer)));
    }
    CHECK(wait_until([&] { return server.metric("agentlb_handshakes_total{result=\"revoked\"}") >= 1; }, 2s));
}

TEST_CASE("a SIGKILLed server is marked down and lands on the others' avoid lists") {
    ThreeServers cluster({"--server-heartbeat-interval", "1"});
    auto h1 = cluster.fixture.enroll("h1");
    auto h2 = cluster.fixture.enroll("h2");
    cluster.sync();
    std::optional<wire::MsList> correction;
    auto a1 = connect_agent(cluster.fixture, h1, cluster[0], "", 0, &correction);
    auto a2 = connect_agent(cluster.fixture, h2, cluster[1], "", 0, &correction);

    const auto killed_at = std::chrono::steady_clock::now();
    cluster[2].process().kill(SIGKILL);
    REQUIRE(cluster[2].process().wait(2s).has_value());

    for (auto* agent : {a1.get(), a2.get()}) {
        auto push = agent->receive_as<wire::MsList>(8s);
        REQUIRE(push.has_value());
        CHECK(push->avoid == std::vector<std::string>{cluster.addresses[2]});
        CHECK(push->list == cluster.addresses);
    }
    // Down after 3 missed 1 s heartbeats (whole seconds in the store).
    CHECK(std::chrono::steady_clock::now() - killed_at < 7s);
    bool marked_down = false;
    for (const auto& server : cluster.fixture.store().list_servers()) {
        if (server.name == "M3") {
            marked_down = server.state == "down";
        }
    }
    CHECK(marked_down);
    CHECK_THAT(cluster[0].log() + cluster[1].log(), Catch::Contains("M3 is down"));

    // Back under the same name: it takes over its row and the avoid list empties.
    MgmtServer again(cluster.fixture, "M3", {"--server-heartbeat-interval", "1"});
    // New ports: the `host` entry for M3 must follow.
    cluster.addresses[2] = again.address();
    cluster.fixture.set_config("host", lb::join_host_list(cluster.addresses));
    auto push = receive_list_until(
        *a1, [&](const wire::MsList& list) { return list.list == cluster.addresses; }, 3s);
    REQUIRE(push.has_value());
    CHECK(push->avoid.empty());
}

TEST_CASE("SIGTERM exits 0 and marks the server down and clears its agents") {
    CaFixture fixture;
    MgmtServer m1(fixture, "M1");
    MgmtServer m2(fixture, "M2");
    fixture.set_config("host", lb::join_host_list({m1.address(), m2.address()}));
    // The test agent does not move on `migrate`: the SIGTERM drain ends by its timeout.
    fixture.set_config("agentlb.shutdown.timeout", "1");
    auto h1 = fixture.enroll("h1");
    auto h2 = fixture.enroll("h2");
    REQUIRE(wait_synced(fixture, m1));
    REQUIRE(wait_synced(fixture, m2));
    auto a1 = connect_agent(fixture, h1, m1);
    auto a2 = connect_agent(fixture, h2, m2);
    REQUIRE(wait_until(
        [&] { return fixture.store().find_host("h2")->connected_to == std::optional<std::string>("M2"); },
        2s));

    // SIGHUP is logged and ignored: the server and its agents stay.
    m2.process().kill(SIGHUP);
    CHECK_FALSE(m2.process().wait(500ms).has_value());
    CHECK(a2->ping());

    m2.process().kill(SIGTERM);
    // Drained first: asked to move, avoiding M2.
    const auto migrate = a2->receive_as<wire::Migrate>(2s);
    REQUIRE(migrate.has_value());
    CHECK(migrate->avoid == std::vector<std::string>{m2.address()});
    const auto code = m2.process().wait(5s);
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    CHECK(a2->wait_closed(2s));

    for (const auto& server : fixture.store().list_servers()) {
        if (server.name == "M2") {
            CHECK(server.state == "down");
        }
    }
    CHECK_FALSE(fixture.store().find_host("h2")->connected_to.has_value());
    CHECK(fixture.store().find_host("h1")->connected_to == std::optional<std::string>("M1"));
    // A state change bumps the generation: M1's agents learn at once.
    auto push = a1->receive_as<wire::MsList>(2s);
    REQUIRE(push.has_value());
    CHECK(push->avoid == std::vector<std::string>{m2.address()});
}

TEST_CASE("make-before-break: the store keeps a host connected until its last session closes") {
    CaFixture fixture;
    MgmtServer server(fixture, "M1");
    fixture.set_config("host", server.address());
    auto h1 = fixture.enroll("h1");
    REQUIRE(wait_synced(fixture, server));
    auto old_session = connect_agent(fixture, h1, server);
    auto new_session = connect_agent(fixture, h1, server);
    const auto connected = [&] { return fixture.store().find_host("h1")->connected_to; };
    REQUIRE(wait_until([&] { return connected() == std::optional<std::string>("M1"); }, 2s));

    old_session->close();
    // Give the server time to notice and (wrongly) clear it.
    REQUIRE(wait_until([&] { return server.metric("agentlb_agents_connected") == 1; }, 2s));
    std::this_thread::sleep_for(200ms);
    CHECK(connected() == std::optional<std::string>("M1"));
    CHECK(new_session->ping());

    new_session->close();
    CHECK(wait_until([&] { return !connected().has_value(); }, 2s));
}
