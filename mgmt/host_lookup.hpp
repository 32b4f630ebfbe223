#pragma once

// The store's answer to a hello as the store thread read it, and the form
// protocol::ServerMachine takes it in (with the host's assignment computed).
// Pure: the fuzz target of hello drives it too.

#include "common/protocol/server_machine.hpp"
#include "common/store/store.hpp"
#include "mgmt/cluster_state.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace agentlb::mgmt {

// Point reads only (see agent_store_jobs.hpp).
struct HostRead {
    std::optional<store::HostRecord> host;
    bool revoked = false;
    std::shared_ptr<const ClusterSnapshot> snapshot;  // never null
    // The zone's ids, read only for a host newer than `snapshot`.
    std::optional<std::vector<std::int64_t>> ids;
    std::int64_t generation = 0;
};

// On the session's thread: the host's assignment computed from the read.
protocol::HostLookup host_lookup_from(const HostRead& read);

}  // namespace agentlb::mgmt
