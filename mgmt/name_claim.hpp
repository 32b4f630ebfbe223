#pragma once

// Start-up under a name whose row in the store says "up": either another
// process is still running under it (refused), or one crashed without
// marking its row down (taken over once its heartbeat is stale). A clean
// stop marks the row down, so a normal restart does not wait.

#include <chrono>
#include <optional>
#include <string>

namespace agentlb::mgmt {

class StoreWorker;

// Watches the row for at most the liveness limit (kMissedHeartbeatsBeforeDead
// heartbeat intervals) plus one interval. Returns the refusal when its
// heartbeat advances meanwhile; nothing when the name is free to register.
// Blocks the calling (start-up) thread; throws StoreError.
std::optional<std::string> wait_for_name(StoreWorker& store,
                                         const std::string& name,
                                         std::chrono::seconds heartbeat_interval);

}  // namespace agentlb::mgmt
