#pragma once

// The JSON the status page reads, beside /v1/status (admin_routes.hpp):
// /v1/history, /v1/events and /v1/config. Shapes in docs/OPERATIONS.md.

#include "mgmt/agent_history.hpp"
#include "mgmt/event_log.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace agentlb::mgmt {

class SharedState;

// {"period_ms": N, "capacity": N, "servers": [names], "samples": [{"time_ms": N,
//  "servers": {"NAME": {"agents": N, "state": "up"}}}]} (oldest sample first).
std::string history_json(const std::vector<HistorySample>& samples,
                         std::int64_t period_ms,
                         std::size_t capacity);

// {"capacity": N, "total": N, "events": [{"id", "time", "kind", "host", "peer",
//  "reason", "detail"}]} (newest event first).
std::string events_json(const std::vector<StatusEvent>& events, std::size_t capacity, std::uint64_t total);

// This server's options (no secrets: the store as shown_location) and the
// cluster's stored configuration of its current snapshot.
std::string config_json(SharedState& state);

}  // namespace agentlb::mgmt
