#pragma once

// What an agent session asks the store, as jobs for the store thread
// (StoreWorker::call).

#include "common/protocol/server_machine.hpp"
#include "common/store/store.hpp"
#include "common/util/result.hpp"
#include "mgmt/host_lookup.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::mgmt {

class SharedState;

// On the store thread: the answer to LookupHost.
HostRead read_host(store::Store& store,
                   const SharedState& state,
                   const std::string& name,
                   const std::string& serial);

// On the store thread: a certificate for `csr` (CA), recorded for the host
// (store). Refused: why, for the agent. Store or CA failures throw.
protocol::Issued issue_renewal(store::Store& store,
                               const SharedState& state,
                               const std::string& csr,
                               const std::string& name,
                               std::int64_t host_id);

}  // namespace agentlb::mgmt
