#pragma once

// Small steps shared by the mgmt integration tests.

#include "common/lb/host_list.hpp"
#include "tests/support/ca_fixture.hpp"
#include "tests/support/mgmt_server.hpp"
#include "tests/support/test_agent.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

namespace agentlb::test {

// Waits until `server` computes from the store's current generation.
inline bool wait_synced(CaFixture& fixture,
                        const MgmtServer& server,
                        std::chrono::milliseconds timeout = 3s) {
    const auto generation = fixture.store().generation();
    return wait_until(
        [&] {
            const auto status = server.status();
            return status.is_object() && status["server"]["generation"].get<std::int64_t>() >= generation;
        },
        timeout);
}

// Connects, says hello holding `held`, and returns the agent once welcomed.
// A correction in the welcome is stored in `correction` when given.
inline std::unique_ptr<TestAgent> connect_agent(const CaFixture& fixture,
                                                const AgentIdentity& identity,
                                                const MgmtServer& server,
                                                const std::string& held = "",
                                                std::int64_t interval = 0,
                                                std::optional<wire::MsList>* correction = nullptr) {
    auto agent = std::make_unique<TestAgent>(identity, fixture.ca_pem());
    const auto error = agent->connect(server.address());
    INFO("connect " << identity.name << " to " << server.name() << ": " << error);
    REQUIRE(error.empty());
    auto first = agent->hello(held, interval);
    REQUIRE(first.has_value());
    const auto* welcome = std::get_if<wire::Welcome>(&*first);
    INFO("first message: " << wire::encode_message(*first));
    REQUIRE(welcome != nullptr);
    CHECK(welcome->host_id == identity.host_id);
    CHECK(welcome->server == server.name());
    if (correction != nullptr) {
        *correction = welcome->correction;
    }
    return agent;
}

// The first ms_list that satisfies `accept`, skipping earlier ones.
template <class Predicate>
std::optional<wire::MsList> receive_list_until(TestAgent& agent,
                                               Predicate accept,
                                               std::chrono::milliseconds timeout) {
    return agent.receive_until<wire::MsList>(accept, timeout);
}

inline std::string held_value(const wire::MsList& list) {
    return lb::format_agent_host_value(lb::AgentHostValue{list.list, list.algorithm});
}

inline std::string sequence_text(const std::vector<std::string>& list) {
    return lb::join_host_list(list);
}

}  // namespace agentlb::test
