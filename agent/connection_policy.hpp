#pragma once

// The agent's connection rules are the protocol core's
// (common/protocol/connection_policy.hpp); the agent adds the random source
// whose numbers jitter its waits.

#include "common/protocol/connection_policy.hpp"

#include <functional>

namespace agentlb::agent {

using protocol::Backoff;
using protocol::BackoffSettings;
using protocol::ConnectionPolicy;
using protocol::same_server;

// Returns a number in [0, 1).
using UnitRandom = std::function<double()>;

// A generator seeded from std::random_device (agents that start together
// must not retry in step).
UnitRandom make_default_random();

}  // namespace agentlb::agent
