#pragma once

// What an agent session asks the store, as jobs for the store thread
// (StoreWorker::call), and their answers in the form protocol::ServerMachine
// takes them.

#include "common/protocol/server_machine.hpp"
#include "common/store/store.hpp"
#include "common/util/result.hpp"
#include "mgmt/cluster_state.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::mgmt {

class SharedState;

// The answer to LookupHost as the store thread read it: point reads only.
struct HostRead {
    std::optional<store::HostRecord> host;
    bool revoked = false;
    std::shared_ptr<const ClusterSnapshot> snapshot;
    // The zone's ids, read only for a host newer than `snapshot`.
    std::optional<std::vector<std::int64_t>> ids;
    std::int64_t generation = 0;
};

// On the store thread.
HostRead read_host(store::Store& store,
                   const SharedState& state,
                   const std::string& name,
                   const std::string& serial);

// On the session's thread: the host's assignment computed from the read.
protocol::HostLookup host_lookup_from(const HostRead& read);

// On the store thread: a certificate for `csr` (CA), recorded for the host
// (store). Refused: why, for the agent. Store or CA failures throw.
protocol::Issued issue_renewal(store::Store& store,
                               const SharedState& state,
                               const std::string& csr,
                               const std::string& name,
                               std::int64_t host_id);

}  // namespace agentlb::mgmt
