#include "mgmt/host_lookup.hpp"

namespace agentlb::mgmt {

std::optional<HostRead> read_host_from_snapshot(std::shared_ptr<const ClusterSnapshot> snapshot,
                                                std::string_view name,
                                                bool revoked) {
    const KnownHost* known = find_known_host(*snapshot, name);
    if (known == nullptr) {
        return std::nullopt;
    }
    HostRead read;
    read.host = store::HostRecord{};
    read.host->id = known->id;
    read.host->name = std::string(name);
    read.host->zone = known->zone;
    read.host->cluster = known->cluster;
    read.revoked = revoked;
    read.generation = snapshot->generation;
    read.snapshot = std::move(snapshot);
    return read;
}

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
    const lb::ConfigScope place{host.zone, host.cluster};
    lookup.assignment = read.ids ? compute_assignment(snapshot, place, *read.ids, host.id)
                                 : compute_assignment(snapshot, place, host.id);
    lookup.algorithm = settings_for(snapshot, place).algorithm;
    lookup.renewal = renewal_of(certificate_settings_at(snapshot, place));
    return lookup;
}

}  // namespace agentlb::mgmt
