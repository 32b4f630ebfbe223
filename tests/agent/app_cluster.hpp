#pragma once

// The app message tests' cluster (issue 19): one server and one enrolled
// agent, each with its app socket, the agent connected.

#include "tests/agent/agent_cluster.hpp"
#include "tests/support/ca_fixture.hpp"
#include "tests/support/temp_dir.hpp"

#include <filesystem>
#include <string>

namespace agentlb::test {

struct AppCluster {
    CaFixture fixture;
    TempDir root;
    const std::filesystem::path ms1_socket = root.path() / "ms1-app.sock";
    const std::filesystem::path h1_socket = root.path() / "h1-app.sock";
    ManagedServer ms1{fixture, "ms1", "127.0.0.1"};
    AgentProcess agent{root, "h1"};

    AppCluster();

    std::string logs() const;
};

}  // namespace agentlb::test
