// The agent protocol after welcome: ping/pong, ack, renew, heartbeat loss,
// and malformed input that must close only the offending session.

#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "common/wire/frame.hpp"
#include "tests/mgmt/integration_helpers.hpp"

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

struct OneServer {
    CaFixture fixture;
    MgmtServer server;
    explicit OneServer(std::vector<std::string> extra = {}) : server(fixture, "M1", std::move(extra)) {
        fixture.set_config("host", server.address());
    }
};

std::string frame_header(std::uint32_t length) {
    std::string header(4, '\0');
    header[0] = static_cast<char>((length >> 24) & 0xff);
    header[1] = static_cast<char>((length >> 16) & 0xff);
    header[2] = static_cast<char>((length >> 8) & 0xff);
    header[3] = static_cast<char>(length & 0xff);
    return header;
}

std::string raw_frame(const std::string& payload) {
    return frame_header(static_cast<std::uint32_t>(payload.size())) + payload;
}

}  // namespace

TEST_CASE("malformed frames close only the offending session") {
    OneServer setup;
    auto good_identity = setup.fixture.enroll("good");
    REQUIRE(wait_synced(setup.fixture, setup.server));
    auto good = connect_agent(setup.fixture, good_identity, setup.server);

    struct Case {
        std::string what;
        std::string bytes;
        std::string logged;
    };
    const std::vector<Case> cases{
        {"garbage JSON", raw_frame("{this is not json"), "bad message"},
        {"oversized length", frame_header(10 * 1024 * 1024) + "xxxx", "bad frame"},
        {"unknown type", raw_frame(R"({"type":"teleport","v":1})"), "bad message"},
        {"wrong field type", raw_frame(R"({"type":"ping","v":1,"seq":"one"})"), "bad message"},
        {"server-only message",
         wire::encode_frame(wire::encode_message(wire::Welcome{1, "x", 10, {}})).value(),
         "unexpected message 'welcome'"},
    };
    int n = 0;
    for (const auto& c : cases) {
        SECTION(c.what) {
            auto identity = setup.fixture.enroll("bad" + std::to_string(++n));
            REQUIRE(wait_synced(setup.fixture, setup.server));
            auto bad = connect_agent(setup.fixture, identity, setup.server);
            REQUIRE(bad->send_raw(c.bytes));
            CHECK(bad->wait_closed(2s));
            CHECK(good->ping());
            CHECK(wait_until([&] { return setup.server.log().find(c.logged) != std::string::npos; }, 2s));
            CHECK_THAT(setup.server.log(), Catch::Contains("agent " + identity.name));
            CHECK(wait_until([&] { return setup.server.metric("agentlb_agents_connected") == 1; }, 2s));
        }
    }
}

TEST_CASE("ping is answered with the same seq and acks are counted") {
    OneServer setup;
    setup.fixture.set_config("indirect.agent.lb.algorithm", "static");
    auto identity = setup.fixture.enroll("h1");
    REQUIRE(wait_synced(setup.fixture, setup.server));
    auto agent = connect_agent(setup.fixture, identity, setup.server, setup.server.address() + "@static");
    REQUIRE(agent->send(wire::Ping{77}));
    auto pong = agent->receive_as<wire::Pong>(2s);
    REQUIRE(pong.has_value());
    CHECK(pong->seq == 77);

    setup.fixture.set_config("indirect.agent.lb.check.interval", "5");
    auto push = agent->receive_as<wire::MsList>(2s);
    REQUIRE(push.has_value());
    CHECK(setup.server.metric("agentlb_pushes_unacked") == 1);
    REQUIRE(agent->send(wire::Ack{push->seq}));
    CHECK(wait_until([&] { return setup.server.metric("agentlb_pushes_acked_total") == 1; }, 2s));
    CHECK(setup.server.metric("agentlb_pushes_unacked") == 0);
    CHECK(setup.server.metric("agentlb_push_latency_seconds_count") == 1);
}

// An agent that could not persist a list sends no ack for it; the agent
// handles lists in order, so an ack for a later one settles the earlier.
TEST_CASE("a push the agent never acked stops counting as unacked once a later one is acked") {
    OneServer setup;
    auto identity = setup.fixture.enroll("h1");
    REQUIRE(wait_synced(setup.fixture, setup.server));
    auto agent = connect_agent(setup.fixture, identity, setup.server, setup.server.address() + "@static");

    setup.fixture.set_config("indirect.agent.lb.check.interval", "5");
    auto lost = agent->receive_as<wire::MsList>(2s);
    REQUIRE(lost.has_value());  // not acked: the agent failed to store it
    setup.fixture.set_config("indirect.agent.lb.check.interval", "6");
    auto stored = agent->receive_as<wire::MsList>(2s);
    REQUIRE(stored.has_value());
    REQUIRE(stored->seq > lost->seq);
    CHECK(setup.server.metric("agentlb_pushes_unacked") == 2);
    REQUIRE(agent->send(wire::Ack{stored->seq}));

    CHECK(wait_until([&] { return setup.server.metric("agentlb_pushes_acked_total") == 1; }, 2s));
    CHECK(setup.server.metric("agentlb_pushes_unacked") == 0);
    CHECK(setup.server.metric("agentlb_pushes_unanswered_total") == 1);
    CHECK_THAT(setup.server.log(),
               Catch::Contains("list seq " + std::to_string(lost->seq) + " was never acknowledged"));
    CHECK(agent->ping());
}

TEST_CASE("a push that is never acked stops counting as unacked after three heartbeat intervals") {
    OneServer setup({"--heartbeat-interval", "1"});
    auto identity = setup.fixture.enroll("h1");
    REQUIRE(wait_synced(setup.fixture, setup.server));
    auto agent = connect_agent(setup.fixture, identity, setup.server, setup.server.address() + "@static");

    setup.fixture.set_config("indirect.agent.lb.check.interval", "5");
    auto lost = agent->receive_as<wire::MsList>(2s);
    REQUIRE(lost.has_value());
    CHECK(setup.server.metric("agentlb_pushes_unacked") == 1);
    // The agent stays alive (pings) but never acks: 3 x 1 s later the push is given up.
    const bool given_up = wait_until(
        [&] {
            REQUIRE(agent->ping());
            return setup.server.metric("agentlb_pushes_unacked") == 0;
        },
        8s,
        200ms);
    CHECK(given_up);
    CHECK(setup.server.metric("agentlb_pushes_unanswered_total") == 1);
    CHECK(setup.server.metric("agentlb_agents_connected") == 1);
    CHECK_THAT(setup.server.log(),
               Catch::Contains("list seq " + std::to_string(lost->seq) + " was never acknowledged"));
}

TEST_CASE("frames sent back to back in one write are each answered, in order") {
    OneServer setup;
    auto identity = setup.fixture.enroll("h1");
    REQUIRE(wait_synced(setup.fixture, setup.server));
    auto agent = connect_agent(setup.fixture, identity, setup.server);
    // More frames than one read of the server takes in, so that answering
    // spans several reads and turns of its loop.
    constexpr std::int64_t kPings = 3000;
    std::string burst;
    for (std::int64_t seq = 1; seq <= kPings; ++seq) {
        auto frame = wire::encode_frame(wire::encode_message(wire::Ping{seq}));
        REQUIRE(frame.ok());
        burst += *frame;
    }
    REQUIRE(agent->send_raw(burst));
    for (std::int64_t seq = 1; seq <= kPings; ++seq) {
        auto pong = agent->receive_as<wire::Pong>(2s);
        REQUIRE(pong.has_value());
        REQUIRE(pong->seq == seq);
    }
    CHECK(agent->ping());
    CHECK(setup.server.metric("agentlb_agents_connected") == 1);
}

TEST_CASE("renew issues a new certificate for the same host") {
    OneServer setup;
    auto identity = setup.fixture.enroll("h1");
    REQUIRE(wait_synced(setup.fixture, setup.server));
    auto agent = connect_agent(setup.fixture, identity, setup.server);
    const auto fresh = make_key_and_csr("h1");
    REQUIRE(agent->send(wire::Renew{fresh.csr_pem}));
    auto answer = agent->receive_as<wire::Certificate>(3s);
    REQUIRE(answer.has_value());
    CHECK(answer->ca == setup.fixture.ca_pem());
    auto certificate = certs::parse_certificate_pem(answer->certificate);
    REQUIRE(certificate.ok());
    CHECK(certs::common_name_of(certificate->get()) == "h1");
    CHECK(certs::serial_of(certificate->get()) != identity.serial);
    CHECK(setup.fixture.store().certificates_of("h1").size() == 2);

    // A garbage CSR is refused without closing the session.
    REQUIRE(agent->send(wire::Renew{"not a csr"}));
    auto refusal = agent->receive_as<wire::Error>(3s);
    REQUIRE(refusal.has_value());
    CHECK(refusal->code == "renew_refused");
    CHECK(agent->ping());

    // The renewed certificate works for a new session.
    AgentIdentity renewed = identity;
    renewed.key_pem = fresh.key_pem;
    renewed.cert_pem = answer->certificate;
    auto second = connect_agent(setup.fixture, renewed, setup.server);
    CHECK(second->ping());

    // Renewal revokes nothing: the old certificate keeps working until it expires.
    CHECK_FALSE(setup.fixture.store().is_revoked(identity.serial));
    auto old_again = connect_agent(setup.fixture, identity, setup.server);
    CHECK(old_again->ping());
}

TEST_CASE("an agent that stops heartbeating is dropped after three intervals") {
    OneServer setup({"--heartbeat-interval", "1"});
    auto quiet_identity = setup.fixture.enroll("quiet");
    auto busy_identity = setup.fixture.enroll("busy");
    REQUIRE(wait_synced(setup.fixture, setup.server));
    const auto started = std::chrono::steady_clock::now();
    auto quiet = connect_agent(setup.fixture, quiet_identity, setup.server);
    auto busy = connect_agent(setup.fixture, busy_identity, setup.server);
    // The busy one pings every 500 ms and survives.
    bool busy_alive = true;
    while (!quiet->is_closed() && std::chrono::steady_clock::now() - started < 6s) {
        busy_alive = busy_alive && busy->ping();
        std::this_thread::sleep_for(500ms);
    }
    CHECK(quiet->is_closed());
    const auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(elapsed >= 2500ms);
    CHECK(elapsed < 5s);
    CHECK(busy_alive);
    CHECK(busy->ping());
    CHECK_THAT(setup.server.log(), Catch::Contains("missed heartbeats"));
}

TEST_CASE("a hello with a wrong held list gets a correction and a second hello closes the session") {
    OneServer setup;
    setup.fixture.set_config("indirect.agent.lb.check.interval", "30");
    auto identity = setup.fixture.enroll("h1");
    REQUIRE(wait_synced(setup.fixture, setup.server));
    std::optional<wire::MsList> correction;
    auto agent = connect_agent(setup.fixture, identity, setup.server, "10.9.9.9@static", 30, &correction);
    REQUIRE(correction.has_value());
    CHECK(correction->list == std::vector<std::string>{setup.server.address()});
    CHECK(correction->interval == 30);
    CHECK(correction->algorithm == "static");

    REQUIRE(agent->send(wire::Hello{"h1", "default", "", 0, ""}));
    CHECK(agent->wait_closed(2s));
}

TEST_CASE("several I/O threads serve agents and pushes alike") {
    OneServer setup({"--threads", "3"});
    std::vector<std::unique_ptr<TestAgent>> agents;
    for (int i = 1; i <= 6; ++i) {
        auto identity = setup.fixture.enroll("h" + std::to_string(i));
        REQUIRE(wait_synced(setup.fixture, setup.server));
        agents.push_back(connect_agent(setup.fixture, identity, setup.server));
    }
    for (auto& agent : agents) {
        CHECK(agent->ping());
    }
    setup.fixture.set_config("indirect.agent.lb.check.interval", "15");
    for (auto& agent : agents) {
        auto push = agent->receive_as<wire::MsList>(2s);
        REQUIRE(push.has_value());
        CHECK(push->interval == 15);
        CHECK(agent->send(wire::Ack{push->seq}));
    }
    CHECK(wait_until([&] { return setup.server.metric("agentlb_pushes_acked_total") == 6; }, 2s));
    CHECK(setup.server.metric("agentlb_agents_connected") == 6);
}
