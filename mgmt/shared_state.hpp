#pragma once

// What every session and timer of one server shares: its identity, the
// current cluster snapshot, the open agent sessions, the store worker, the
// CA and the TLS contexts. Created once by Server and kept by shared_ptr.

#include "certs/ca.hpp"
#include "certs/revocation.hpp"
#include "common/protocol/server_machine.hpp"
#include "common/tls/context.hpp"
#include "common/tls/ticket_keys.hpp"
#include "common/util/clock.hpp"
#include "mgmt/admission.hpp"
#include "mgmt/agent_history.hpp"
#include "mgmt/agent_registry.hpp"
#include "mgmt/ca_set.hpp"
#include "mgmt/cluster_state.hpp"
#include "mgmt/connection_recorder.hpp"
#include "mgmt/enroll_rate_limit.hpp"
#include "mgmt/event_log.hpp"
#include "mgmt/failover_watch.hpp"
#include "mgmt/hook_runner.hpp"
#include "mgmt/metrics.hpp"
#include "mgmt/options.hpp"
#include "mgmt/store_health.hpp"
#include "mgmt/store_worker.hpp"
#include "mgmt/tls_contexts.hpp"
#include "mgmt/zone_metrics.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace agentlb::mgmt {

class AppRouter;

class SharedState {
public:
    SharedState(Options options,
                std::string advertise,
                StoreWorker& store,
                std::shared_ptr<const CaView> cas);

    const Options options;
    // --advertise as "host:port", the form registered in the store.
    const std::string advertise;
    const std::int64_t started_at;
    StoreWorker& store;
    // The CA this server issues from and every CA the cluster trusts
    // (reloaded with each snapshot: a CA rotation, ca_set.hpp).
    CaSet ca;
    // Shared with the agent port's TLS context (checked at the handshake);
    // refreshed from the store with each snapshot.
    const std::shared_ptr<certs::RevocationList> revoked;
    // The TLS session ticket keys, shared with every agent-port context
    // (contexts are rebuilt on renewal; the ring stays) and, through the
    // store, with the other servers. Filled by TicketKeyRefresh.
    const std::shared_ptr<tls::TicketKeyRing> ticket_keys;
    Metrics metrics;
    // The --hook runner (null without --hook); declared after `metrics`, which it counts into.
    const std::unique_ptr<HookRunner> hooks;
    // Handshakes in progress on the agent port and the push-backs beyond
    // agentlb.handshake.max.inflight (counts into `metrics`).
    Admission admission;
    AgentRegistry registry;
    // The agent-port and enrollment-port contexts of this server's current
    // certificate: a session takes them at accept (server_renewal.hpp swaps them).
    TlsContexts tls;
    // Certificates expiring within the alert period, for /healthz and /v1/status.
    CertificateWarnings certificate_warnings;
    // Failed enrollment attempts per source address.
    EnrollRateLimit enroll_limit;
    // A reissue was requested during the CA rotation in progress: an agent
    // welcomed later with a certificate of the previous CA is asked to renew too.
    std::atomic<bool> reissue_all{false};
    // Set at shutdown: sessions no longer record themselves as connected.
    std::atomic<bool> stopping{false};
    // The watcher's reads of the store, for /healthz.
    StoreHealth store_health;
    // The cluster's agents per zone and server, while this server exports them.
    ZoneMetrics zone_metrics;
    // Arrivals from another server, until it is known whether that server died.
    FailoverWatch failovers;
    // The sessions' set_connected / clear_connected_if, group-committed on the
    // store thread (nothing is written once `stopping`; a clear is dropped
    // while the host has a session here again).
    ConnectionRecorder connections;
    // What the status page shows: recent events (fed by post_hook and the
    // refusals) and agents per server over the last hour (HistorySampler).
    EventLog events;
    AgentHistory history;
    // --app-socket's router (issue 19); null without one. Set before the
    // agent port accepts, never changed after.
    std::shared_ptr<AppRouter> apps;

    std::shared_ptr<const ClusterSnapshot> snapshot() const;
    void set_snapshot(std::shared_ptr<const ClusterSnapshot> snapshot);

    // The server rows as last read by the liveness check (fresh heartbeats,
    // unlike the snapshot's copy), for /v1/status.
    std::vector<store::ServerRecord> servers() const;
    void set_servers(std::vector<store::ServerRecord> servers);

    // Hosts whose session record could not be written or cleared (a stalled
    // or unreachable store): the liveness check sets or clears it once it
    // can, by whether this server still holds a session of the host.
    // `write`: a session was welcomed without its record (set_connected
    // failed or was never tried): the record is written as at welcome, even
    // over another server's name; otherwise only an empty record is claimed.
    struct RecordRecheck {
        std::int64_t host_id = 0;
        bool write = false;
    };
    void recheck_record_later(std::int64_t host_id, bool write = false);
    std::vector<RecordRecheck> take_records_to_recheck();

    // Records a membership event for the status page and hands it to the
    // --hook runner, if any. Any thread; never waits.
    void post_hook(HookEvent event);

    // False while this server has lacked its store for longer than
    // agentlb.store.unreachable.limit: hellos are refused (StoreOutage).
    std::atomic<bool> serving{true};
    // A DrainRule::Why other than none while this server drains (maintenance
    // or a shutdown) or is in maintenance: hellos are refused `draining` (Drain).
    std::atomic<std::uint8_t> drain_why{0};

    // What every agent session's protocol::ServerMachine reads (from options).
    const protocol::ServerSettings agent_settings;
    // ms_list sequence numbers: increasing over this server's lifetime.
    protocol::SeqCounter seqs;

private:
    mutable std::mutex snapshot_mutex_;
    std::shared_ptr<const ClusterSnapshot> snapshot_;
    mutable std::mutex servers_mutex_;
    std::vector<store::ServerRecord> servers_;
    std::mutex recheck_mutex_;
    std::map<std::int64_t, bool> recheck_;  // host id -> write
};

}  // namespace agentlb::mgmt
