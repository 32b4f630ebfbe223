#include "agent/server_message.hpp"

#include <catch2/catch.hpp>

#include <limits>

using namespace agentlb;
using namespace agentlb::agent;
using namespace std::chrono_literals;

TEST_CASE("welcome's heartbeat interval, or the fallback when it names none") {
    CHECK(heartbeat_from_welcome(wire::Welcome{1, "ms1", 15, std::nullopt}, 10s) == 15s);
    CHECK(heartbeat_from_welcome(wire::Welcome{1, "ms1", 0, std::nullopt}, 10s) == 10s);
}

// Found by tests/fuzz (agent_server_message): seconds -> milliseconds overflowed
// (undefined behaviour; in practice a negative period) for a huge interval.
TEST_CASE("a huge heartbeat interval in welcome is capped, never overflows") {
    const auto huge = std::numeric_limits<std::int64_t>::max();
    CHECK(heartbeat_from_welcome(wire::Welcome{1, "ms1", huge, std::nullopt}, 10s) == kMaxWelcomeHeartbeat);
    CHECK(heartbeat_from_welcome(wire::Welcome{1, "ms1", 3601, std::nullopt}, 10s) == kMaxWelcomeHeartbeat);
    CHECK(heartbeat_from_welcome(wire::Welcome{1, "ms1", 3600, std::nullopt}, 10s) == 3600s);
}

TEST_CASE("migrate avoids the servers it names and the server that sent it, once") {
    CHECK(avoid_after_migrate(wire::Migrate{"r", {"a"}}, "b") == std::vector<std::string>{"a", "b"});
    CHECK(avoid_after_migrate(wire::Migrate{"r", {"B:8250"}}, "b") == std::vector<std::string>{"B:8250"});
}

TEST_CASE("only server messages are handled; a pong answers no more than was sent") {
    CHECK(classify_server_message(wire::MsList{}) == ServerMessageAction::apply_list);
    CHECK(classify_server_message(wire::Hello{}) == ServerMessageAction::abort);
    CHECK(classify_server_message(wire::Welcome{}) == ServerMessageAction::ignore);
    CHECK(answered_pings(2, 5, wire::Pong{9}) == 5);
    CHECK(answered_pings(4, 5, wire::Pong{1}) == 4);
}
