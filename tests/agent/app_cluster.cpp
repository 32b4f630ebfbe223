#include "tests/agent/app_cluster.hpp"

#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <optional>

namespace agentlb::test {

using namespace std::chrono_literals;

AppCluster::AppCluster() {
    fixture.set_config("host", ms1.address());
    ms1.start({"--app-socket", ms1_socket.string()});
    agent.start_enrolling(fixture, ms1, {"--app-socket", h1_socket.string()});
    REQUIRE(
        wait_until([&] { return connected_to(fixture, "h1") == std::optional<std::string>("ms1"); }, 15s));
}

std::string AppCluster::logs() const {
    return "--- agent\n" + tail(agent.log()) + "--- ms1\n" + tail(ms1.log());
}

}  // namespace agentlb::test
