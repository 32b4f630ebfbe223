#pragma once

// The records the shared config store reads and writes (store.hpp), and the
// names of the states they hold.

#include "common/lb/scoped_config.hpp"
#include "common/util/result.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentlb::store {

// The database failed (I/O error, corrupt or foreign file, lock held longer
// than the busy timeout, newer schema, PostgreSQL unreachable). The message
// names the store (as shown_location shows it), what was being done and the
// database's own text.
class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct HostRecord {
    std::int64_t id = 0;
    std::string name;
    std::string zone;
    std::optional<std::string> connected_to;  // server holding its newest session
    std::int64_t last_seen = 0;               // 0 = never
    std::int64_t created_at = 0;
    std::string cluster{};  // '' = none; a cluster of `zone`
};

struct ServerRecord {
    std::string name;
    std::string address;
    std::string state;  // one of the kServer* states: what the server reports (or "down", set by a peer)
    std::int64_t last_heartbeat = 0;
    std::int64_t agents = 0;
    std::int64_t started_at = 0;
    // The operator asked for maintenance (agentlbctl mgmt maintenance); only
    // end_maintenance clears it: it survives restarts and being marked down.
    bool maintenance = false;
    // host:port of the server's peer link (schema v10, set_peer_address); ''
    // = it has none.
    std::string peer_address{};
};

// An application connected to a server's app socket (issue 19): `epoch` is
// the one its client named in its hello (microseconds since 1970 when the
// client started), so the longest-running instance of an application has
// the smallest.
struct ApplicationRecord {
    std::string server;
    std::string name;
    std::int64_t epoch = 0;
    std::int64_t connected_at = 0;
    bool operator==(const ApplicationRecord&) const = default;
};

// How many hosts' records name `server`, among the hosts of `zone` (connected_counts).
struct ConnectedCount {
    std::string zone;
    std::string server;
    std::int64_t hosts = 0;
};

// What begin_maintenance / end_maintenance did.
struct MaintenanceChange {
    bool already = false;  // nothing to do: the request was already (not) there; nothing written
    std::string state;     // the server's state afterwards
};

// A CA the cluster trusts (schema v7). The active CA issues (ca_certificate()
// returns it); during a rotation the previous one is still trusted.
inline constexpr std::string_view kCaActive = "active";
inline constexpr std::string_view kCaPrevious = "previous";

struct TrustedCa {
    std::string fingerprint;  // "sha256:..."
    std::string pem;          // its self-signed certificate
    // The active CA's certificate signed by the previous CA's key (the cross
    // certificate of a rotation); '' for a CA that did not replace another.
    std::string cross_pem;
    std::string state;  // kCaActive or kCaPrevious
    std::int64_t created_at = 0;
};

// What `agentlbctl ca rotate` records.
struct CaRotation {
    std::string expected_active;  // fingerprint of the CA being replaced (the one in --ca-dir)
    std::string pem;              // the successor, self-signed
    std::string fingerprint;
    std::string cross_pem;  // the successor signed by the replaced CA's key
    std::int64_t now = 0;
};

// A request to renew every certificate of the previous CA now (agentlbctl ca
// rotate --reissue-all), at most `rate` agents a second per server.
struct ReissueRequest {
    std::int64_t id = 0;  // ascending, never given twice
    std::int64_t rate = 0;
    std::int64_t requested_at = 0;
};

// finish_ca_rotation lists at most this many of the certificates that block it.
inline constexpr std::size_t kFinishListLimit = 20;

// A request to move agents back to their preferred servers (agentlbctl rebalance).
struct RebalanceRequest {
    std::int64_t id = 0;                // ascending, never given twice
    std::optional<std::string> target;  // only agents preferring this server; nothing: every agent
    std::int64_t requested_at = 0;
};

// A host's session recorded on server `by` while its record named `server`.
struct Supersession {
    std::int64_t host_id = 0;
    std::string by;
    std::int64_t at = 0;
};

// One change of a host's session record on this server, for
// apply_connection_changes: set_connected (connect) or clear_connected_if (clear).
struct ConnectionChange {
    enum class Kind { connect, clear };
    Kind kind = Kind::connect;
    std::int64_t host_id = 0;
};

// What a live server found when it put its row back (see rejoin_server).
struct Rejoin {
    std::int64_t restored = 0;  // held hosts whose empty record names this server again
    // Held hosts whose record names another server: a newer session elsewhere.
    std::vector<std::pair<std::int64_t, std::string>> elsewhere;
};

// What a certificate is for.
inline constexpr std::string_view kCertificateAgent = "agent";
inline constexpr std::string_view kCertificateServer = "server";

// A recorded certificate. Agent certificates carry their host's id and name;
// server certificates host_id 0 and the server's name in host_name.
struct CertificateRecord {
    std::string serial;
    std::int64_t host_id = 0;
    std::string host_name;
    std::int64_t not_after = 0;
    bool revoked = false;
    std::optional<std::int64_t> revoked_at;
    std::string kind{kCertificateAgent};  // kCertificateAgent or kCertificateServer
    std::string subject{};                // the CN: the host's or the server's name
    std::string issuer{};                 // "sha256:..." of the CA certificate that signed it; '' unknown
    std::int64_t issued_at = 0;           // 0: recorded before schema v6
    // A newer certificate was recorded for the same host (same id) or server:
    // this one is no longer in use. Computed when read, never stored.
    bool superseded = false;
};

// Which certificates list_certificates returns (every condition must hold).
struct CertificateFilter {
    std::optional<std::string> host{};              // host_name equal (a host's or a server's name)
    std::optional<std::int64_t> expiring_before{};  // not_after < this (expired ones included)
    bool include_revoked = true;
    std::optional<std::string> issuer{};  // issuer fingerprint equal
    bool include_superseded = true;
};

struct TokenSpec {
    std::string hash;  // the token itself is never stored
    std::optional<std::string> zone;
    std::optional<std::string> name;  // set: the token may (re-)enrol only this host name
    std::int64_t expires_at = 0;
    std::int64_t created_at = 0;
    std::optional<std::string> cluster{};  // set: the host gets this cluster (of its zone)
    // Set (with name): only the host of that name with this id may redeem it
    // (agentlbctl cert reissue); a host removed and enrolled again under the
    // same name has another id and is refused.
    std::optional<std::int64_t> host_id{};
};

struct RedeemRequest {
    std::string token_hash;
    std::string name;
    std::optional<std::string> zone;  // the agent's --zone; empty counts as not given
    std::int64_t now = 0;
};

struct IssuedCertificate {
    std::string pem;
    std::string serial;
    std::int64_t not_after = 0;
    std::string issuer{};        // CA fingerprint; '': the store's CA (ca_certificate) is recorded
    std::int64_t issued_at = 0;  // 0: the time of recording is recorded
};

struct Enrollment {
    HostRecord host;
    IssuedCertificate certificate;
    bool re_enrolled = false;
};

// A join token as stored (for copying a store; the token itself is never stored).
struct TokenRecord {
    TokenSpec spec;
    std::optional<std::int64_t> used_at;
};

// Everything `agentlbctl db copy` moves from one store to another. Not
// copied: the management servers' rows (maintenance requests and peer link
// addresses included), the superseded sessions, rebalance requests and the
// applications the servers hold (servers register again on the new store,
// and each records its own applications afresh), the TLS ticket keys (the new
// store's servers make their own: agents resume no session across the move),
// and hosts' connected_to (no session is recorded in a store no server has
// used yet).
struct StoreContents {
    std::map<std::string, std::string> config;
    std::map<lb::ConfigScope, std::map<std::string, std::string>> scoped_config;  // the overrides
    std::vector<HostRecord> hosts;                                                // by id
    std::vector<CertificateRecord> certificates;                                  // in issue order
    std::vector<TokenRecord> tokens;                                              // by created_at, then hash
    std::optional<std::pair<std::string, std::string>> ca;                        // pem, fingerprint
    std::string ca_chain{};                                                       // see ca_chain()
    std::int64_t generation = 0;
    std::int64_t last_host_id = 0;  // the highest id ever given, removed hosts' included
};

// A TLS session ticket key shared by the management servers (schema v9,
// sqlite_store_ticket_keys.cpp, postgres_store_ticket_keys.cpp). The store
// holds it wrapped: only a holder of the CA's private key can read it
// (common/tls/ticket_key_wrap.hpp), so the database alone gives nobody the
// keys that let an agent resume with a server.
struct TicketKeyRecord {
    std::string name;     // 16 bytes, random; the key's name in every ticket
    std::string wrapped;  // the key material, encrypted
    std::int64_t created_at = 0;
};

// What ensure_ticket_keys asks of its caller, who alone can wrap and unwrap.
struct TicketKeyMaker {
    // A new key: name and wrapped (created_at is the store's `now`).
    std::function<TicketKeyRecord()> make;
    // False when the caller cannot unwrap a key (made under another CA key):
    // a newest key it cannot use is replaced at once. Null: all usable.
    std::function<bool(const TicketKeyRecord&)> usable{};
};

// Ticket keys kept: the current (newest) one and the previous one.
inline constexpr std::size_t kTicketKeysKept = 2;

// Issues the certificate for a host while its enrollment transaction is open.
// A failure rolls the enrollment back (token unused, no host row).
using IssueFn = std::function<Result<IssuedCertificate>(const HostRecord&)>;

// A server's states. up: takes agents. preparing: drains (maintenance
// requested, or shutting down) and takes none. maintenance: drained, holds no
// agent. down: judged dead by a peer, or stopped.
inline constexpr std::string_view kServerUp = "up";
inline constexpr std::string_view kServerPreparing = "preparing";
inline constexpr std::string_view kServerMaintenance = "maintenance";
inline constexpr std::string_view kServerDown = "down";

// True for the four states above.
bool is_server_state(std::string_view state);

// Rebalance requests older than this (seconds) are pruned when a new one is made.
inline constexpr std::int64_t kRebalanceKeepSeconds = 24 * 60 * 60;

}  // namespace agentlb::store
