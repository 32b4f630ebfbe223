// Maintenance, drain and graceful shutdown with three real servers and
// thirty real agents (tests/support/three_servers.hpp).

#include "tests/support/three_servers.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <csignal>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

TEST_CASE("three servers: thirty agents connect to the first server of their static list, with no gap") {
    ThreeServers cluster;
    const bool connected = cluster.wait_all_connected(30s);
    INFO(cluster.layout() << "\n" << cluster.logs());
    REQUIRE(connected);
    CHECK(cluster.count_on("ms1") == 30);
    cluster.sampler().start();
    std::this_thread::sleep_for(500ms);
    cluster.sampler().stop();
    CHECK(cluster.sampler().samples().size() >= 3);
    INFO(cluster.sampler().describe_gaps());
    CHECK(cluster.sampler().gaps().empty());
}
