// A long list must not make long log lines: the agent logs a pushed list and
// the failures of a connect pass cut to a few entries.

#include "common/lb/host_list.hpp"
#include "tests/agent/agent_cluster.hpp"
#include "tests/support/log_lines.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

TEST_CASE("a long list is logged cut short: the pushed list and the failures of a connect pass") {
    CaFixture fixture;
    TempDir root;
    ManagedServer server(fixture, "ms1", "127.0.0.1");
    fixture.set_config("host", server.address());
    server.start();
    AgentProcess agent(root, "h1");
    agent.start_enrolling(fixture, server);
    REQUIRE(wait_until([&] { return connected_to(fixture, agent.name()).has_value(); }, 10s));

    // The server first, then 300 loopback ports nothing listens on.
    std::set<std::uint16_t> ports;
    while (ports.size() < 300) {
        ports.insert(free_port());
    }
    std::vector<std::string> hosts{server.address()};
    for (auto port : ports) {
        hosts.push_back(loopback(port));
    }
    fixture.set_config("host", lb::join_host_list(hosts));
    REQUIRE(wait_until(
        [&] {
            return agent.host_value() == std::optional<std::string>(lb::join_host_list(hosts) + "@static");
        },
        5s));

    // With the server gone, a connect pass fails on every entry.
    server.kill();
    const bool failed_pass = wait_until(
        [&] { return agent.log().find("no management server answered (") != std::string::npos; }, 10s);
    const auto log = agent.log();
    INFO(tail(log));
    REQUIRE(failed_pass);
    CHECK(log.find("... and 293 more@static") != std::string::npos);  // the pushed list: 8 of 301
    CHECK(longest_line(log) < 2048);
}
