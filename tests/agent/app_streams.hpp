#pragma once

// Shared by the app message tests (issue 19) that drive client::Client at
// both ends: pumping two clients, and reading what each one received.

#include "client/agentlb_client.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace agentlb::test {

// Polls both clients in turn until `done` or `timeout`; every event is kept.
bool pump(client::Client& a,
          std::vector<client::Event>& a_events,
          client::Client& b,
          std::vector<client::Event>& b_events,
          const std::function<bool()>& done,
          std::chrono::milliseconds timeout);

// The payloads of the messages received from `from`, in order.
std::vector<std::string> payloads_of(const std::vector<client::Event>& events, const std::string& from);

// Whether everything up to sequence `up_to` was acknowledged.
bool all_delivered(const std::vector<client::Event>& events, std::uint64_t up_to);

// Whether any message was given up.
bool any_given_up(const std::vector<client::Event>& events);

}  // namespace agentlb::test
