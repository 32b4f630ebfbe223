#include "mgmt/host_lookup.hpp"

namespace agentlb::mgmt {

protocol::HostLookup host_lookup_from(const HostRead& read) {
    protocol::HostLookup lookup;
    lookup.revoked = read.revoked;
    lookup.generation = read.generation;
    if (!read.host) {
        return lookup;
    }
    const auto& host = *read.host;
    const auto& snapshot = *read.snapshot;
    lookup.found = true;
    lookup.host_id = host.id;
    lookup.zone = host.zone;
    lookup.assignment = read.ids ? compute_assignment(snapshot, *read.ids, host.id)
                                 : compute_assignment(snapshot, host.zone, host.id);
    lookup.algorithm = snapshot.algorithm;
    return lookup;
}

}  // namespace agentlb::mgmt
