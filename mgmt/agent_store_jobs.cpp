#include "mgmt/agent_store_jobs.hpp"

#include "mgmt/shared_state.hpp"

namespace agentlb::mgmt {

HostRead read_host(store::Store& store,
                   const SharedState& state,
                   const std::string& name,
                   const std::string& serial) {
    HostRead read;
    read.host = store.find_host(name);
    read.revoked = store.is_revoked(serial);
    // The zone's host ids come from the snapshot, since reading them costs
    // O(hosts in the zone) on the one store thread, which every hello of a
    // reconnection storm queues behind.
    read.snapshot = state.snapshot();
    if (read.host && !contains_host(*read.snapshot, read.host->zone, read.host->id)) {
        read.ids = store.host_ids_in_zone(read.host->zone);
    }
    // Read last: every snapshot at least this new has the host in it.
    read.generation = store.generation();
    return read;
}

protocol::Issued issue_renewal(store::Store& store,
                               const SharedState& state,
                               const std::string& csr,
                               const std::string& name,
                               std::int64_t host_id) {
    certs::IssueOptions options;
    options.kind = certs::CertificateKind::agent;
    options.common_name = name;
    // The validity where the host is now (its cluster's, zone's or the global value).
    const auto snapshot = state.snapshot();
    const KnownHost* host = find_host_by_id(*snapshot, host_id);
    const lb::ConfigScope place =
        host != nullptr ? lb::ConfigScope{host->zone, host->cluster} : lb::ConfigScope{};
    options.validity = certificate_settings_at(*snapshot, place).agent_validity;
    auto issued = state.ca.issue(csr, options);
    protocol::Issued answer;
    if (!issued) {
        answer.outcome = protocol::Issued::Outcome::refused;
        answer.reason = issued.error();
        return answer;
    }
    store.record_certificate(host_id,
                             store::IssuedCertificate{issued->pem, issued->serial, issued->not_after});
    answer.outcome = protocol::Issued::Outcome::issued;
    answer.certificate = std::move(issued->pem);
    // An imported CA: the organisation's root the agent pins, and what links the leaf to it.
    answer.ca = state.ca.trust_anchor_pem();
    answer.chain = state.ca.intermediates_pem();
    return answer;
}

}  // namespace agentlb::mgmt
