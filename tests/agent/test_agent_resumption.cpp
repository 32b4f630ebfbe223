// TLS 1.3 resumption with real agentlb-mgmt and agentlb-agent processes: two
// servers on one store (ms1 on 127.0.0.1, ms2 on .2), one agent listing
// both. The servers send a ticket after welcome; the agent keeps it in
// memory and offers it to whichever server it dials next.

#include "common/util/atomic_file.hpp"
#include "common/util/clock.hpp"
#include "tests/agent/agent_cluster.hpp"
#include "tests/support/net_probe.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <thread>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

// A check whose failure shows the processes' logs as they are then.
#define CHECK_LOGGED(cluster, ...)        \
    do {                                  \
        const bool held_ = (__VA_ARGS__); \
        INFO((cluster).describe());       \
        CHECK(held_);                     \
    } while (false)
#define REQUIRE_LOGGED(cluster, ...)      \
    do {                                  \
        const bool held_ = (__VA_ARGS__); \
        INFO((cluster).describe());       \
        REQUIRE(held_);                   \
    } while (false)

namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) {
        ++n;
    }
    return n;
}

class TwoServers {
public:
    using Config = std::vector<std::pair<std::string, std::string>>;
    explicit TwoServers(const Config& config = {}) {
        fixture.set_config("host", ms1.address() + "," + ms2.address());
        fixture.set_config("indirect.agent.lb.algorithm", "static");
        for (const auto& [key, value] : config) {
            fixture.set_config(key, value);
        }
        ms1.start();
        ms2.start();
    }

    // h1, enrolled in the store, listing ms1 then ms2; connected to ms1.
    void start_agent() {
        identity = fixture.enroll("h1");
        install_credentials(agent, identity.key_pem, identity.cert_pem, fixture.ca_pem());
        REQUIRE(util::write_file_atomically(
                    agent.properties_path(),
                    "name=h1\nzone=default\nhost=" + ms1.address() + "," + ms2.address() + "@static\n")
                    .ok());
        agent.start();
        INFO(describe());
        REQUIRE(wait_until([&] { return connected_to(fixture, "h1") == std::optional<std::string>("ms1"); },
                           10s));
    }

    double metric(const ManagedServer& server, const std::string& sample) const {
        return metric_value(http_get(server.admin_port(), "/metrics", 1s).body, sample).value_or(0.0);
    }
    // ms1 wrote h1 its ticket; a moment more for h1 to read it (a reset
    // connection loses what was not read yet).
    bool ticket_delivered() const {
        const bool sent =
            wait_until([&] { return metric(ms1, "agentlb_session_tickets_sent_total") == 1; }, 5s);
        std::this_thread::sleep_for(200ms);
        return sent;
    }
    double resumed(const ManagedServer& server) const {
        return metric(server, "agentlb_handshakes_total{kind=\"resumed\"}");
    }
    std::string connected_line(const ManagedServer& server, const std::string& how) const {
        return "connected to " + server.address() + " (server " + server.name() + ", host id " +
               std::to_string(identity.host_id) + ", " + how + ")";
    }

    // The agent's session ends without either process stopping: the
    // agent is paused until ms1 gives up on its heartbeats.
    void drop_session_by_silence() {
        agent.kill(SIGSTOP);
        const bool closed = wait_until([&] { return metric(ms1, "agentlb_agents_connected") == 0; }, 10s);
        agent.kill(SIGCONT);
        INFO(describe());
        REQUIRE(closed);
    }

    std::string describe() const {
        return "--- h1\n" + tail(agent.log(), 3000) + "\n--- ms1\n" + tail(ms1.log(), 3000) + "\n--- ms2\n" +
               tail(ms2.log(), 3000);
    }

    CaFixture fixture;
    TempDir root;
    ManagedServer ms1{fixture, "ms1", "127.0.0.1"};
    ManagedServer ms2{fixture, "ms2", "127.0.0.2"};
    AgentProcess agent{root, "h1"};
    AgentIdentity identity;
};

}  // namespace

TEST_CASE("an agent resumes its TLS session when it reconnects, after a full handshake first") {
    TwoServers cluster;
    cluster.start_agent();
    REQUIRE_LOGGED(cluster, cluster.ticket_delivered());
    CHECK_THAT(cluster.agent.log(), Catch::Contains(cluster.connected_line(cluster.ms1, "full handshake")));
    CHECK_LOGGED(cluster,
                 cluster.metric(cluster.ms1, "agentlb_handshakes_total{result=\"ok\",kind=\"full\"}") == 1);

    cluster.drop_session_by_silence();
    REQUIRE_LOGGED(cluster, wait_until([&] { return cluster.resumed(cluster.ms1) == 1; }, 10s));
    CHECK_LOGGED(cluster,
                 wait_until(
                     [&] {
                         return count_of(cluster.agent.log(),
                                         cluster.connected_line(cluster.ms1, "resumed")) == 1;
                     },
                     5s));
    CHECK_LOGGED(
        cluster,
        cluster.metric(cluster.ms1, "agentlb_handshakes_total{result=\"ok\",kind=\"resumed\"}") == 1);
    // The ticket is young (far from half its hour): the resumed session gets
    // none, the agent keeps the one it has and resumes with it again.
    std::this_thread::sleep_for(300ms);
    CHECK_LOGGED(cluster, cluster.metric(cluster.ms1, "agentlb_session_tickets_sent_total") == 1);
    cluster.drop_session_by_silence();
    REQUIRE_LOGGED(cluster, wait_until([&] { return cluster.resumed(cluster.ms1) == 2; }, 10s));
    CHECK_LOGGED(cluster,
                 wait_until(
                     [&] {
                         return count_of(cluster.agent.log(),
                                         cluster.connected_line(cluster.ms1, "resumed")) == 2;
                     },
                     5s));
    std::this_thread::sleep_for(300ms);
    CHECK_LOGGED(cluster, cluster.metric(cluster.ms1, "agentlb_session_tickets_sent_total") == 1);
}

TEST_CASE("an agent resumes on the other server after its server is killed") {
    TwoServers cluster;
    cluster.start_agent();
    REQUIRE_LOGGED(cluster, cluster.ticket_delivered());

    cluster.ms1.kill();
    REQUIRE_LOGGED(
        cluster,
        wait_until([&] { return connected_to(cluster.fixture, "h1") == std::optional<std::string>("ms2"); },
                   10s));
    CHECK_LOGGED(cluster, cluster.resumed(cluster.ms2) == 1);
    CHECK_LOGGED(cluster,
                 cluster.metric(cluster.ms2, "agentlb_handshakes_total{result=\"ok\",kind=\"full\"}") == 0);
    CHECK_LOGGED(cluster,
                 wait_until(
                     [&] {
                         return count_of(cluster.agent.log(),
                                         cluster.connected_line(cluster.ms2, "resumed")) == 1;
                     },
                     5s));
}

TEST_CASE("a revoked certificate cannot resume: the ticket is refused and so is the full handshake") {
    TwoServers cluster;
    cluster.start_agent();
    REQUIRE_LOGGED(cluster, cluster.ticket_delivered());

    REQUIRE(cluster.fixture.store().revoke_certificate(cluster.identity.serial, util::unix_now()).ok());
    // ms1 closes the session; the agent comes back with its ticket, to ms1 first.
    REQUIRE_LOGGED(
        cluster,
        wait_until(
            [&] {
                return cluster.metric(cluster.ms1, "agentlb_handshakes_total{result=\"revoked\"}") +
                           cluster.metric(cluster.ms2, "agentlb_handshakes_total{result=\"revoked\"}") >=
                       2;
            },
            10s));
    // ms1 closed the session because it knew of the revocation: the ticket
    // was refused there. ms2 may learn of it a poll later; until then it
    // takes the ticket as it would take a full handshake, and its hello
    // check refuses the agent: never an `ok` resumption.
    CHECK_LOGGED(cluster, cluster.resumed(cluster.ms1) == 0);
    CHECK_LOGGED(
        cluster,
        cluster.metric(cluster.ms2, "agentlb_handshakes_total{result=\"ok\",kind=\"resumed\"}") == 0);
    CHECK_LOGGED(cluster, cluster.metric(cluster.ms1, "agentlb_handshakes_total{result=\"ok\"}") == 1);
    CHECK_LOGGED(cluster, cluster.metric(cluster.ms2, "agentlb_handshakes_total{result=\"ok\"}") == 0);
    CHECK_LOGGED(cluster, count_of(cluster.agent.log(), "resumed") == 0);
}

TEST_CASE("with agentlb.tls.ticket.lifetime 0 no ticket is sent and a reconnection is a full handshake") {
    TwoServers cluster(TwoServers::Config{{"agentlb.tls.ticket.lifetime", "0"}});
    cluster.start_agent();

    cluster.drop_session_by_silence();
    REQUIRE_LOGGED(cluster,
                   wait_until(
                       [&] {
                           return cluster.metric(cluster.ms1,
                                                 "agentlb_handshakes_total{result=\"ok\",kind=\"full\"}") ==
                                  2;
                       },
                       10s));
    CHECK_LOGGED(cluster, cluster.metric(cluster.ms1, "agentlb_session_tickets_sent_total") == 0);
    CHECK_LOGGED(cluster, cluster.resumed(cluster.ms1) == 0);
    // The server counts the connection before the agent has its welcome.
    CHECK_LOGGED(cluster,
                 wait_until(
                     [&] {
                         return count_of(cluster.agent.log(),
                                         cluster.connected_line(cluster.ms1, "full handshake")) == 2;
                     },
                     5s));
}
