#pragma once

// The rules of management servers' states and the operator's maintenance
// requests, the same for every backend: each backend reads the servers'
// rows inside its write transaction and asks these rules before it writes.

#include "common/store/store.hpp"

#include <string_view>
#include <vector>

namespace agentlb::store {

// Throws std::invalid_argument (a bug in the caller) unless state is one of the four.
void require_server_state(std::string_view state, std::string_view call);

// expected and next must be states and differ (std::invalid_argument otherwise).
void require_state_transition(std::string_view expected, std::string_view next);

// What begin_maintenance does with `servers` (every row, read in the
// transaction): a refusal, already = true (write nothing), or the state the
// server gets along with maintenance = true.
Result<MaintenanceChange> decide_begin_maintenance(const std::vector<ServerRecord>& servers,
                                                   std::string_view name,
                                                   std::int64_t now,
                                                   std::int64_t stale_after);

// What end_maintenance does: a refusal, already = true, or the state the
// server gets along with maintenance = false.
Result<MaintenanceChange> decide_end_maintenance(const std::vector<ServerRecord>& servers,
                                                 std::string_view name);

// The refusal of a rebalance target that is no registered server.
Failure unknown_server(std::string_view name);

}  // namespace agentlb::store
