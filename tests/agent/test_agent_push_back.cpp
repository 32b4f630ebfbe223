// Admission control end to end: a real agentlb-mgmt with
// agentlb.handshake.max.inflight 1, its one handshake slot held by a raw TCP
// connection that never sends a ClientHello, pushes back a real
// agentlb-agent, which says so in its log and goes to its next server, or
// comes back after the retry-after once the stall has ended.

#include "tests/agent/agent_cluster.hpp"
#include "tests/support/net_probe.hpp"
#include "tests/support/wait.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <regex>
#include <signal.h>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

double server_metric(const ManagedServer& server, const std::string& sample) {
    const auto response = http_get(server.admin_port(), "/metrics");
    return metric_value(response.body, sample).value_or(-1.0);
}

// A TCP connection to `server`'s agent port that sends nothing: it holds one
// handshake slot until closed (or the server's handshake deadline).
class Stall {
public:
    explicit Stall(const ManagedServer& server) : socket_(io_) {
        const auto address = server.address();
        const auto colon = address.rfind(':');
        socket_.connect(tcp::endpoint(asio::ip::make_address(address.substr(0, colon)),
                                      static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1)))));
        // An agent started later must not inherit it: the stall would outlive end().
        ::fcntl(socket_.native_handle(), F_SETFD, FD_CLOEXEC);
    }
    void end() {
        boost::system::error_code ignored;
        socket_.close(ignored);
    }

private:
    asio::io_context io_;
    tcp::socket socket_;
};

std::string logs(AgentProcess& agent, std::initializer_list<const ManagedServer*> servers) {
    std::string all = "--- agent\n" + tail(agent.log(), 3000);
    for (const auto* server : servers) {
        all += "--- " + server->name() + "\n" + tail(server->log(), 3000);
    }
    return all;
}

}  // namespace

TEST_CASE(
    "a server at its handshake limit pushes the agent back, and the agent connects to its next server") {
    CaFixture fixture;
    TempDir root;
    ManagedServer ms1(fixture, "ms1", "127.0.0.1");
    ManagedServer ms2(fixture, "ms2", "127.0.0.2");
    fixture.set_config("host", ms1.address() + "," + ms2.address());
    fixture.set_config("indirect.agent.lb.algorithm", "static");
    fixture.set_config("agentlb.handshake.max.inflight", "1");
    ms1.start();
    ms2.start();
    AgentProcess agent(root, "h1");
    agent.start_enrolling(fixture, ms1);
    REQUIRE(
        wait_until([&] { return connected_to(fixture, "h1") == std::optional<std::string>("ms1"); }, 10s));
    CHECK(server_metric(ms1, "agentlb_handshakes_inflight") == 0.0);

    Stall stall(ms1);
    REQUIRE(wait_until([&] { return server_metric(ms1, "agentlb_handshakes_inflight") == 1.0; }, 5s));
    agent.kill(SIGKILL);
    agent.wait(5s);
    agent.start();

    const bool moved =
        wait_until([&] { return connected_to(fixture, "h1") == std::optional<std::string>("ms2"); }, 10s);
    INFO(logs(agent, {&ms1, &ms2}));
    REQUIRE(moved);
    const auto log = agent.log();
    CHECK(std::regex_search(
        log,
        std::regex(ms1.address() + " pushed back \\(too many handshakes in progress there; it asks to "
                                   "retry after [0-9]+ ms\\): trying the next server")));
    // Straight on to the next server: no wait between the two.
    CHECK(log.find("retrying in") == std::string::npos);
    CHECK(server_metric(ms1, "agentlb_handshake_admissions_total{result=\"pushed_back\"}") >= 1.0);
    CHECK(server_metric(ms1, "agentlb_handshake_admissions_total{result=\"admitted\"}") >= 2.0);
    CHECK(server_metric(ms2, "agentlb_handshake_admissions_total{result=\"pushed_back\"}") == 0.0);
    CHECK(ms1.log().find("pushed back 1 agent connection(s) since the last such line: 1 handshakes in "
                         "progress, the limit (agentlb.handshake.max.inflight) is 1") != std::string::npos);
    stall.end();
}

TEST_CASE("an agent pushed back by its only server waits the retry-after and connects once the stall ends") {
    CaFixture fixture;
    TempDir root;
    ManagedServer ms1(fixture, "ms1", "127.0.0.1");
    fixture.set_config("host", ms1.address());
    fixture.set_config("agentlb.handshake.max.inflight", "1");
    ms1.start();
    AgentProcess agent(root, "h1");
    agent.start_enrolling(fixture, ms1);
    REQUIRE(wait_until([&] { return connected_to(fixture, "h1").has_value(); }, 10s));
    agent.kill(SIGKILL);
    agent.wait(5s);
    REQUIRE(wait_until([&] { return server_metric(ms1, "agentlb_agents_connected") == 0.0; }, 5s));

    Stall stall(ms1);
    REQUIRE(wait_until([&] { return server_metric(ms1, "agentlb_handshakes_inflight") == 1.0; }, 5s));
    agent.start();
    const std::regex waiting("retrying in ([0-9]+) ms, when the servers that pushed back expect room");
    std::smatch match;
    std::string log;
    const bool waits = wait_until(
        [&] {
            log = agent.log();
            return std::regex_search(log, match, waiting);
        },
        5s);
    INFO(logs(agent, {&ms1}));
    REQUIRE(waits);
    // The wait is the server's retry-after +0..10 %, not the exponential
    // backoff's (--backoff-initial-ms 200 here). The agent is the first in
    // the server's queue, at about 1 a second (the limit a second, or the
    // agent's earlier welcome): 1 s.
    const long wait_ms = std::stol(match[1].str());
    std::smatch asked;
    REQUIRE(std::regex_search(log, asked, std::regex("it asks to retry after ([0-9]+) ms")));
    const long retry_after = std::stol(asked[1].str());
    CHECK(retry_after >= 50);
    CHECK(retry_after <= 1000);
    CHECK(wait_ms >= retry_after);
    CHECK(wait_ms <= retry_after * 11 / 10 + 1);
    stall.end();
    REQUIRE(wait_until([&] { return server_metric(ms1, "agentlb_handshakes_inflight") == 0.0; }, 5s));
    const bool connected = wait_until([&] { return server_metric(ms1, "agentlb_agents_connected") == 1.0; },
                                      std::chrono::milliseconds(wait_ms + 3000));
    INFO(logs(agent, {&ms1}));
    CHECK(connected);
    CHECK(server_metric(ms1, "agentlb_handshake_admissions_total{result=\"pushed_back\"}") >= 1.0);
}
