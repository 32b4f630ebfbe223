#pragma once

// The PostgreSQL implementation of Store, internal to the store library. The
// methods are split by topic over postgres_store*.cpp. Same observable
// behaviour as SqliteStore; correct with many servers, each on its own
// connection: single-row writes lock their row (UPDATE, SELECT ... FOR
// UPDATE), the rare writes spanning many rows take a transaction-scoped
// advisory lock, and the generation row serializes every bump.

#include "common/store/pg_handle.hpp"
#include "common/store/store.hpp"

namespace agentlb::store {

// The NOTIFY channel of generation bumps; the payload is the new generation.
inline constexpr const char* kGenerationChannel = "agentlb_generation";

// Clears connected_to of every host naming $1. Rows that several hosts'
// writes touch are locked in ascending id order everywhere, so two such
// writes at once wait for each other instead of deadlocking.
inline constexpr const char* kPgClearServerHosts =
    "UPDATE hosts SET connected_to = NULL "
    "WHERE id IN (SELECT id FROM hosts WHERE connected_to = $1 ORDER BY id FOR UPDATE)";

// Selects a host as read_pg_host reads it.
inline constexpr const char* kPgHostColumns = "id, name, zone, connected_to, last_seen, created_at, cluster";
HostRecord read_pg_host(const PgResult& result, int row);
// An int8[] literal ("{1,2,3}") for a $n::bigint[] parameter.
std::string pg_id_array(const std::vector<std::int64_t>& ids);

class PostgresStore final : public Store {
public:
    PostgresStore(const std::string& db, OpenMode mode);

    std::optional<std::string> get_config(std::string_view key) override;
    std::map<std::string, std::string> list_config() override;
    Result<std::optional<std::string>> set_config(std::string_view key, std::string_view value) override;
    lb::ScopedConfig scoped_config() override;
    Result<std::optional<std::string>> set_scoped_config(const lb::ConfigScope& scope,
                                                         std::string_view key,
                                                         std::string_view value) override;
    Result<std::optional<std::string>> unset_scoped_config(const lb::ConfigScope& scope,
                                                           std::string_view key) override;
    std::int64_t generation() override;
    std::optional<std::string> quick_check() override;

    std::vector<HostRecord> list_hosts() override;
    std::optional<HostRecord> find_host(std::string_view name) override;
    std::optional<HostRecord> find_host_by_id(std::int64_t id) override;
    std::vector<std::int64_t> host_ids_in_zone(std::string_view zone) override;
    Result<HostRecord> move_host(std::string_view name, const lb::ConfigScope& place) override;
    Result<std::vector<std::string>> remove_host(std::string_view name) override;
    void set_connected(std::int64_t host_id, std::string_view server, std::int64_t now) override;
    std::optional<std::string> claim_if_unconnected(std::int64_t host_id,
                                                    std::string_view server,
                                                    std::int64_t now) override;
    std::vector<Supersession> take_superseded(std::string_view server) override;
    bool clear_connected_if(std::int64_t host_id, std::string_view server) override;
    void reading_together(const std::function<void()>& reads) override;
    std::vector<bool> apply_connection_changes(std::string_view server,
                                               const std::vector<ConnectionChange>& changes,
                                               std::int64_t now) override;
    void clear_connected_for_server(std::string_view server) override;
    void touch_hosts(const std::vector<std::int64_t>& host_ids, std::int64_t now) override;
    std::vector<ConnectedCount> connected_counts() override;

    void create_token(const TokenSpec& token) override;
    Result<Enrollment> redeem_token(const RedeemRequest& request, const IssueFn& issue) override;

    void record_certificate(std::int64_t host_id, const IssuedCertificate& certificate) override;
    std::vector<std::string> revoked_serials() override;
    std::vector<CertificateRecord> certificates_of(std::string_view host_name) override;
    bool is_revoked(std::string_view serial) override;
    void record_server_certificate(std::string_view server, const IssuedCertificate& certificate) override;
    std::vector<CertificateRecord> list_certificates(const CertificateFilter& filter) override;
    Result<CertificateRecord> revoke_certificate(std::string_view serial, std::int64_t now) override;
    std::int64_t count_certificates(std::string_view kind,
                                    std::int64_t expiring_before,
                                    std::int64_t now) override;

    void put_ca_certificate(std::string_view pem, std::string_view fingerprint) override;
    std::optional<std::pair<std::string, std::string>> ca_certificate() override;
    std::vector<TrustedCa> trusted_cas() override;
    Result<TrustedCa> begin_ca_rotation(const CaRotation& rotation) override;
    Result<TrustedCa> finish_ca_rotation(std::int64_t now) override;
    Result<std::int64_t> request_reissue(std::int64_t rate, std::int64_t now) override;
    std::vector<ReissueRequest> reissue_requests_after(std::int64_t id) override;
    std::int64_t last_reissue_id() override;
    void put_ca_with_chain(std::string_view pem,
                           std::string_view fingerprint,
                           std::string_view chain_pem) override;
    std::string ca_chain() override;

    void register_server(std::string_view name, std::string_view address, std::int64_t now) override;
    Rejoin rejoin_server(std::string_view name,
                         std::string_view address,
                         std::int64_t started_at,
                         std::int64_t now,
                         const std::vector<std::int64_t>& held_hosts) override;
    bool mark_server_down(std::string_view name, std::int64_t judged_heartbeat) override;
    void heartbeat_server(std::string_view name, std::int64_t now, std::int64_t agents) override;
    void set_server_state(std::string_view name, std::string_view state) override;
    bool compare_and_set_server_state(std::string_view name,
                                      std::string_view expected,
                                      std::string_view next) override;
    std::vector<ServerRecord> list_servers() override;
    void set_peer_address(std::string_view server, std::string_view address) override;
    Result<MaintenanceChange> begin_maintenance(std::string_view name,
                                                std::int64_t now,
                                                std::int64_t stale_after) override;
    Result<MaintenanceChange> end_maintenance(std::string_view name) override;

    Result<std::int64_t> request_rebalance(std::optional<std::string_view> target, std::int64_t now) override;
    std::vector<RebalanceRequest> rebalance_requests_after(std::int64_t id) override;
    std::int64_t last_rebalance_id() override;

    std::vector<TicketKeyRecord> ensure_ticket_keys(std::int64_t now,
                                                    std::int64_t rotation_seconds,
                                                    const TicketKeyMaker& maker) override;
    std::vector<TicketKeyRecord> ticket_keys() override;

    void add_application(const ApplicationRecord& application) override;
    void remove_application(std::string_view server, std::string_view name, std::int64_t epoch) override;
    void clear_applications(std::string_view server) override;
    std::vector<ApplicationRecord> applications_named(std::string_view name) override;

    StoreContents export_contents() override;
    Status import_contents(const StoreContents& contents) override;

private:
    // The bodies of set_connected and clear_connected_if, inside the caller's transaction.
    bool write_connected(std::int64_t host_id, std::string_view server, std::int64_t now);
    bool write_cleared(std::int64_t host_id, std::string_view server);
    // First in every transaction that may bump the generation: the row lock
    // makes such transactions run one at a time, in generation order, so
    // they need no other lock and cannot deadlock among themselves; one that
    // ends up changing nothing rolls back, bump included. The NOTIFY goes
    // out at commit.
    void bump_generation(std::string_view what, std::int64_t at_least = 0);
    // One transaction: checks the change against everything stored.
    Result<std::optional<std::string>> write_config(const lb::ConfigScope& scope,
                                                    std::string_view key,
                                                    const std::optional<std::string>& value);
    // kind agent, subject host_name; an empty issuer records the store's CA,
    // issued_at 0 records `now`.
    void insert_certificate(std::int64_t host_id,
                            std::string_view host_name,
                            const IssuedCertificate& certificate,
                            bool revoked,
                            std::int64_t now,
                            std::string_view kind = kCertificateAgent);
    std::optional<CertificateRecord> find_certificate(std::string_view serial);
    void revoke_certificates_of(std::int64_t host_id, std::int64_t now);
    std::optional<std::string> connected_server(std::int64_t host_id);
    void forget_superseded(std::string_view server);

    PgConnection connection_;
};

}  // namespace agentlb::store
