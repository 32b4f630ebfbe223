#include "mgmt/agent_store_jobs.hpp"

#include "mgmt/shared_state.hpp"

namespace agentlb::mgmt {

HostRead read_host(store::Store& store,
                   const SharedState& state,
                   const std::string& name,
                   const std::string& serial) {
    HostRead read;
    // One read transaction (one lock of the SQLite file, not one per read).
    store.reading_together([&] {
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
    });
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
    // One view: the certificate, its recorded issuer and the `ca` sent with it agree.
    const auto cas = state.ca.view();
    auto issued = cas->issuer->issue(csr, options);
    protocol::Issued answer;
    if (!issued) {
        answer.outcome = protocol::Issued::Outcome::refused;
        answer.reason = issued.error();
        return answer;
    }
    store::IssuedCertificate record{issued->pem, issued->serial, issued->not_after};
    record.issuer = cas->issuer_fingerprint;
    store.record_certificate(host_id, record);
    answer.outcome = protocol::Issued::Outcome::issued;
    answer.certificate = std::move(issued->pem);
    // An imported CA: the organisation's root the agent pins, and what links
    // the leaf to it. Our own CA: the cross certificate during a rotation.
    const bool imported = !cas->issuer->intermediates_pem().empty();
    answer.ca = imported ? cas->issuer->trust_anchor_pem() : cas->answer_ca_pem;
    answer.chain = cas->issuer->intermediates_pem();
    return answer;
}

}  // namespace agentlb::mgmt
