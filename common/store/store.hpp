#pragma once

// The shared config store: global configuration, hosts, certificates, join
// tokens, management servers and the generation counter that tells servers
// something they push to agents may have changed.
//
// Threading: a Store object (one SQLite or PostgreSQL connection) is used by
// one thread at a time; give each thread or worker its own object. Several
// Store objects, in one process or in several (on several machines, for
// PostgreSQL), may open the same store at once.
//
// Every call blocks on disk I/O and may wait up to the busy timeout for
// another writer: never call it on an I/O thread.
//
// Errors: failures of the database itself throw StoreError; input an
// operator or a peer can get wrong is refused through Result/Status with a
// reason written for a person, and then nothing has changed.
//
// Times are unix seconds passed in by the caller, so tests control them.

#include "common/lb/scoped_config.hpp"
#include "common/store/records.hpp"
#include "common/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentlb::store {

class Store {
public:
    virtual ~Store();

    // --- configuration (scope "global") ---
    virtual std::optional<std::string> get_config(std::string_view key) = 0;
    virtual std::map<std::string, std::string> list_config() = 0;
    // Validates with lb::validate_config, stores, bumps the generation and
    // returns the previous value. A refused value changes nothing.
    // Also refused when the change would leave the effective configuration
    // of a zone or cluster that inherits the key inconsistent
    // (lb::check_scoped_change).
    virtual Result<std::optional<std::string>> set_config(std::string_view key, std::string_view value) = 0;

    // --- configuration per zone and per cluster (overrides) ---
    // The global values and every override, read in one transaction.
    virtual lb::ScopedConfig scoped_config() = 0;
    // Sets `key` at `scope` (the global scope is set_config) after
    // lb::check_scoped_change against everything stored, in one write
    // transaction; bumps the generation and returns the previous value at
    // that scope. A refused value changes nothing.
    virtual Result<std::optional<std::string>> set_scoped_config(const lb::ConfigScope& scope,
                                                                 std::string_view key,
                                                                 std::string_view value) = 0;
    // Removes the override of `key` at `scope` (never global: refused) after
    // the same check, and returns it; nothing (no write, no bump) if there
    // was none.
    virtual Result<std::optional<std::string>> unset_scoped_config(const lb::ConfigScope& scope,
                                                                   std::string_view key) = 0;

    // Bumped by config writes, host enrolment/removal, server registration,
    // server state changes, peer link address changes, maintenance requests
    // and cancels, and rebalance requests; never by heartbeats, touch_hosts,
    // set_connected or the applications' rows.
    // One indexed read: cheap enough to poll every second.
    virtual std::int64_t generation() = 0;

    // PRAGMA quick_check: nothing when the file is sound, else SQLite's first
    // complaint ("Page 7: btreeInitPage() returns error code 11"). Reads
    // every page: for start-up, not for a hot path. PostgreSQL: always
    // nothing (the server checks its own pages).
    virtual std::optional<std::string> quick_check() = 0;

    // Runs `reads` (reads of this store only) as one read transaction where
    // that is cheaper: SQLite then locks the file once instead of once per
    // statement (a hello's three point reads), and they see one state.
    // PostgreSQL runs them as they are (a BEGIN would add round trips).
    // Inside an open transaction, `reads` just runs. Throws what `reads` throws.
    virtual void reading_together(const std::function<void()>& reads) = 0;

    // --- hosts ---
    virtual std::vector<HostRecord> list_hosts() = 0;  // by id
    virtual std::optional<HostRecord> find_host(std::string_view name) = 0;
    virtual std::optional<HostRecord> find_host_by_id(std::int64_t id) = 0;
    virtual std::vector<std::int64_t> host_ids_in_zone(std::string_view zone) = 0;  // ascending
    // Moves a host to `place` (zone required, cluster '' = none): unknown
    // name or a bad place refused. Bumps the generation when it changed
    // anything. Returns the record as it was.
    virtual Result<HostRecord> move_host(std::string_view name, const lb::ConfigScope& place) = 0;
    // Revokes every certificate of the host, deletes it and bumps the
    // generation. Returns all its serials (now all revoked). Unknown name: refused.
    virtual Result<std::vector<std::string>> remove_host(std::string_view name) = 0;
    // The newest session wins: the last call names the server; also sets last_seen.
    // When the record named another server, that server is told through
    // take_superseded (it may still hold an older session of the host).
    virtual void set_connected(std::int64_t host_id, std::string_view server, std::int64_t now) = 0;
    // Names `server` if the record is empty. Returns the record's server
    // afterwards (nothing if the host no longer exists).
    virtual std::optional<std::string> claim_if_unconnected(std::int64_t host_id,
                                                            std::string_view server,
                                                            std::int64_t now) = 0;
    // Removes and returns what set_connected recorded for `server`, oldest
    // first. A read only when there is nothing (cheap enough every second).
    virtual std::vector<Supersession> take_superseded(std::string_view server) = 0;
    // Clears connected_to only if it still names this server (an old session
    // closing after make-before-break must not erase the new one). True if cleared.
    virtual bool clear_connected_if(std::int64_t host_id, std::string_view server) = 0;
    // set_connected / clear_connected_if for `server`, every change in its
    // order, all in ONE write transaction: the group commit of the session
    // records a server queued meanwhile (one commit instead of one each).
    // Returns per change whether it changed the record (connect: the host
    // exists; clear: it was cleared). A failure throws and applies nothing.
    virtual std::vector<bool> apply_connection_changes(std::string_view server,
                                                       const std::vector<ConnectionChange>& changes,
                                                       std::int64_t now) = 0;
    // A server going down or stopping: none of its hosts are connected to it.
    virtual void clear_connected_for_server(std::string_view server) = 0;
    // Sets last_seen for many hosts in one transaction; unknown ids are skipped.
    virtual void touch_hosts(const std::vector<std::int64_t>& host_ids, std::int64_t now) = 0;
    // The connection records counted by zone and server: one row per pair
    // with at least one host, by zone then server (byte order). One read of
    // the hosts table (about 1 ms for 10,000 hosts on SQLite, 3 ms on
    // PostgreSQL: docs/BENCHMARKS.md); the zone metrics' exporter reads it
    // once a second.
    virtual std::vector<ConnectedCount> connected_counts() = 0;

    // --- join tokens and enrollment ---
    // A duplicate hash throws StoreError (hashes of random tokens never collide).
    virtual void create_token(const TokenSpec& token) = 0;
    // One BEGIN IMMEDIATE transaction: checks the token, creates the host (or
    // keeps the id of a host re-enrolled with a token created for its name,
    // revoking its previous certificates), calls issue, records the serial,
    // marks the token used and bumps the generation. Any refusal or a failed
    // issue leaves everything as it was.
    virtual Result<Enrollment> redeem_token(const RedeemRequest& request, const IssueFn& issue) = 0;

    // --- certificates ---
    // Records a renewal. If the host no longer exists the certificate is
    // recorded as revoked, so it can never be used.
    virtual void record_certificate(std::int64_t host_id, const IssuedCertificate& certificate) = 0;
    virtual std::vector<std::string> revoked_serials() = 0;                                  // sorted
    virtual std::vector<CertificateRecord> certificates_of(std::string_view host_name) = 0;  // in issue order
    // False for serials the store never recorded.
    virtual bool is_revoked(std::string_view serial) = 0;
    // Records a management server's own certificate (kind server, host_id 0,
    // host_name and subject `server`). A serial already recorded is left as
    // it is (a restarted server reusing its certificate records it again).
    // Never bumps the generation.
    virtual void record_server_certificate(std::string_view server, const IssuedCertificate& certificate) = 0;
    // In issue order.
    virtual std::vector<CertificateRecord> list_certificates(const CertificateFilter& filter) = 0;
    // Revokes one certificate (agentlbctl cert revoke) and bumps the
    // generation: every server reloads the revoked serials and closes the
    // session using it. Unknown serial: refused, naming it. Already revoked:
    // ok, nothing written. Returns the record as it is afterwards.
    virtual Result<CertificateRecord> revoke_certificate(std::string_view serial, std::int64_t now) = 0;
    // Certificates of `kind` in use (not revoked, not superseded, not expired
    // at now: not_after >= now) that expire before `expiring_before`. For
    // metrics: one indexed count, read at most once a minute.
    virtual std::int64_t count_certificates(std::string_view kind,
                                            std::int64_t expiring_before,
                                            std::int64_t now) = 0;

    // --- CA ---
    // Sets the CA (`ca init`, a copy): it becomes the only trusted CA.
    virtual void put_ca_certificate(std::string_view pem, std::string_view fingerprint) = 0;
    // The active CA: the one that issues.
    virtual std::optional<std::pair<std::string, std::string>> ca_certificate() = 0;  // pem, fingerprint
    // An imported CA (`agentlbctl ca import`): the certificate and the chain
    // above it, written together (the row is replaced as by put_ca_certificate).
    virtual void put_ca_with_chain(std::string_view pem,
                                   std::string_view fingerprint,
                                   std::string_view chain_pem) = 0;
    // The imported CA's issuers as PEM, nearest first, the self-signed root
    // (the agents' trust anchor) last; "" for a CA that is its own root or no CA.
    virtual std::string ca_chain() = 0;

    // --- CA rotation (schema v7; sqlite_store_ca.cpp, postgres_store_ca.cpp) ---
    // Every CA the cluster trusts, the active one first.
    virtual std::vector<TrustedCa> trusted_cas() = 0;
    // One write transaction: the active CA becomes previous, the successor
    // active (ca_certificate() returns it from now on); bumps the generation.
    // Refused (nothing changed) when the store has no CA, when
    // expected_active is not the active CA, when a previous CA still exists
    // (finish that rotation first) or when the successor is already trusted.
    virtual Result<TrustedCa> begin_ca_rotation(const CaRotation& rotation) = 0;
    // Forgets the previous CA and bumps the generation; returns it. Refused
    // when there is none, and while any certificate it issued is in use (not
    // revoked, not expired at `now`, not superseded by a newer one of the
    // same host or server): the reason names up to kFinishListLimit of them
    // and counts the rest.
    virtual Result<TrustedCa> finish_ca_rotation(std::int64_t now) = 0;
    // Records a reissue request (rate >= 1 agents a second per server),
    // bumps the generation and returns its id. Refused when no rotation is in
    // progress (no previous CA) or the rate is not positive.
    virtual Result<std::int64_t> request_reissue(std::int64_t rate, std::int64_t now) = 0;
    virtual std::vector<ReissueRequest> reissue_requests_after(std::int64_t id) = 0;  // ascending id
    virtual std::int64_t last_reissue_id() = 0;                                       // 0 when none

    // --- management servers ---
    // Upsert: a restart under the same name takes over the row (new address,
    // agents 0, started_at now; state maintenance if the operator's
    // maintenance flag is set, which is kept, else up: a fresh process holds
    // no agents, so a requested maintenance is reached) and clears
    // connected_to of hosts that named it (a fresh process holds no
    // sessions). A new row starts without the flag. Bumps the generation.
    virtual void register_server(std::string_view name, std::string_view address, std::int64_t now) = 0;
    // A live server that found its row marked down or deleted: puts it back
    // (state preparing if maintenance is requested, so it drains again, else
    // up; keeping its hosts' records) and names it again in the empty records
    // of the hosts it holds. One transaction; bumps the generation.
    virtual Rejoin rejoin_server(std::string_view name,
                                 std::string_view address,
                                 std::int64_t started_at,
                                 std::int64_t now,
                                 const std::vector<std::int64_t>& held_hosts) = 0;
    // Marks a peer down and clears its hosts' records in one transaction, but
    // only if it is not down yet (any other state) with the heartbeat the
    // caller judged stale (a peer that just wrote one, or put itself back,
    // is left alone). Bumps the generation when it acts; true if it did.
    virtual bool mark_server_down(std::string_view name, std::int64_t judged_heartbeat) = 0;
    // Liveness only: never bumps the generation. Unknown name: nothing happens.
    virtual void heartbeat_server(std::string_view name, std::int64_t now, std::int64_t agents) = 0;
    // state must be one of the four kServer* states (anything else is a bug:
    // std::invalid_argument). Bumps the generation only if the state changed.
    virtual void set_server_state(std::string_view name, std::string_view state) = 0;
    // Sets the state to next only if it is expected (both kServer* states,
    // different: std::invalid_argument otherwise). True, and the generation
    // bumped, if it did; false for an unknown name or another state.
    virtual bool compare_and_set_server_state(std::string_view name,
                                              std::string_view expected,
                                              std::string_view next) = 0;
    virtual std::vector<ServerRecord> list_servers() = 0;  // by name
    // The host:port of the server's peer link ('' = none; schema v10). A
    // server sets it after register_server at every start (register_server
    // and rejoin_server keep the row's value). Bumps the generation only if
    // the address changed, so peers read it with their next server list.
    // Unknown name: nothing happens.
    virtual void set_peer_address(std::string_view server, std::string_view address) = 0;

    // The operator's maintenance request, in one write transaction (the
    // store's write lock: two operators draining two servers at once cannot
    // both pass the check). Unknown name: refused. Already requested: ok with
    // already = true. Refused when no OTHER server would be left up, not in
    // maintenance and with a heartbeat at or after now - stale_after (a
    // crashed server still reads up until a peer marks it down); the reason
    // names the others and their states. Else sets the flag and turns up
    // into preparing (the server then drains). Bumps the generation.
    virtual Result<MaintenanceChange> begin_maintenance(std::string_view name,
                                                        std::int64_t now,
                                                        std::int64_t stale_after) = 0;
    // Cancels the request: unknown name refused; not requested: ok with
    // already = true; else clears the flag and turns preparing or
    // maintenance back into up (down stays down). Bumps the generation.
    virtual Result<MaintenanceChange> end_maintenance(std::string_view name) = 0;

    // --- rebalancing ---
    // Records a request (target: a registered server's name, refused
    // otherwise; nothing: every agent), prunes requests older than
    // kRebalanceKeepSeconds before now, bumps the generation and returns the
    // new id (ids ascend in commit order and are never given twice).
    virtual Result<std::int64_t> request_rebalance(std::optional<std::string_view> target,
                                                   std::int64_t now) = 0;
    virtual std::vector<RebalanceRequest> rebalance_requests_after(std::int64_t id) = 0;  // ascending id
    virtual std::int64_t last_rebalance_id() = 0;                                         // 0 when none

    // --- TLS session ticket keys (schema v9) ---
    // One write transaction when a key is due (none yet, the newest was
    // created rotation_seconds or more before now, or the newest is not
    // maker.usable): inserts maker.make() and deletes all but the newest
    // kTicketKeysKept. Returns the keys, newest first. Servers racing make
    // one key. Nothing due: a read only (cheap enough every few seconds).
    virtual std::vector<TicketKeyRecord> ensure_ticket_keys(std::int64_t now,
                                                            std::int64_t rotation_seconds,
                                                            const TicketKeyMaker& maker) = 0;
    // The keys, newest first (read only).
    virtual std::vector<TicketKeyRecord> ticket_keys() = 0;

    // --- applications on the servers' app sockets (schema v10, issue 19) ---
    // Each server writes only its own rows. None of these bumps the
    // generation: readers ask applications_named when they need to. Rows of a
    // server that stopped or was marked down stay until it starts again
    // (readers check the server's state in list_servers).
    // A row with the same (server, name, epoch) is kept as it is.
    virtual void add_application(const ApplicationRecord& application) = 0;
    // No such row: nothing happens.
    virtual void remove_application(std::string_view server, std::string_view name, std::int64_t epoch) = 0;
    // Every row of `server`: a server clears its own when it starts.
    virtual void clear_applications(std::string_view server) = 0;
    // The instances of an application on every server, by epoch (the
    // longest-running first), then server (byte order). One indexed read.
    virtual std::vector<ApplicationRecord> applications_named(std::string_view name) = 0;

    // --- copying a whole store (agentlbctl db copy) ---
    // One consistent read of everything StoreContents names.
    virtual StoreContents export_contents() = 0;
    // Writes contents into this store in one transaction, keeping host ids
    // and certificate serials; new host ids continue after last_host_id (an
    // id is never given twice), and the generation ends above both stores'.
    // Refused (nothing changed) if this store already holds a host, a
    // certificate, a token or a CA.
    virtual Status import_contents(const StoreContents& contents) = 0;
};

// What opening may do to a file that is not an agentlb store yet.
enum class OpenMode {
    // The file must exist and already hold the agentlb schema; it is never
    // created or initialised. For servers and every command but the explicit
    // creating ones, so a mistyped or emptied path is an error, not an empty store.
    existing,
    // A missing file, an empty (0-byte) file or an SQLite database without
    // tables gets the schema: `agentlbctl ca init`, `config set`, tests.
    create,
};

// The schema version a store holds, read without changing anything, beside
// the version this build writes (agentlbctl db version).
struct SchemaVersions {
    int stored = 0;  // 0: no agentlb schema yet
    int known = 0;
};

// Opens the store `db` names (see store_location.hpp): PostgreSQL for a
// postgresql:// URI or a libpq key=value string, else the SQLite file at that
// path. Applies the migrations this build knows (one advisory lock or write
// transaction, so servers starting at once create the schema once). Throws
// StoreError; its message shows `db` only as shown_location() does.
std::unique_ptr<Store> open_store(const std::string& db, OpenMode mode);

// Reads the stored schema version of `db` without migrating. Throws
// StoreError if it cannot be read (missing file, database unreachable).
SchemaVersions read_schema_versions(const std::string& db);

// Wakes a server when another process bumps the generation, so it need not
// poll. PostgreSQL: LISTEN on a connection of its own, fed by the NOTIFY the
// bumping transaction sends. One thread uses it at a time, but interrupt().
class ChangeFeed {
public:
    virtual ~ChangeFeed();
    // Blocks up to `timeout`. True if at least one change was announced
    // (every pending announcement is consumed). Throws StoreError when the
    // connection is lost; the next call reconnects and listens again (a
    // change announced meanwhile is missed: callers also poll, slowly).
    virtual bool wait(std::chrono::milliseconds timeout) = 0;
    // Makes a blocked or the next wait() return false at once. Any thread.
    virtual void interrupt() = 0;
};

// Nothing for SQLite, which has no notifications: servers poll its
// generation (one indexed read) instead. Connecting may throw StoreError.
std::unique_ptr<ChangeFeed> open_change_feed(const std::string& db);

// Opens the SQLite store at path. Throws StoreError with a clear message if
// the file is missing or not an agentlb store (OpenMode::existing), is not a
// database, is not writable, or has a newer schema than this build knows.
std::unique_ptr<Store> open_sqlite_store(const std::string& path, OpenMode mode);

}  // namespace agentlb::store
