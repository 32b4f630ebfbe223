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
#include <string_view>
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

// While the store cannot be read: the hello's answer from the server's last
// snapshot (`revoked`: the snapshot's revocation list holds the serial).
// Nothing for a host the snapshot does not know.
std::optional<HostRead> read_host_from_snapshot(std::shared_ptr<const ClusterSnapshot> snapshot,
                                                std::string_view name,
                                                bool revoked);

// On the session's thread: the host's assignment computed from the read.
protocol::HostLookup host_lookup_from(const HostRead& read);

}  // namespace agentlb::mgmt
