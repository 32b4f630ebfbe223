#pragma once

// The messages of the agent protocol (port 8250) and of enrollment (port
// 8251). Each payload is a JSON object with "type" (each struct's kType)
// and "v": 1. Integers are JSON integers within int64; counts,
// ids, intervals and sequence numbers must not be negative.
//
// Forward compatibility: fields a message does not know are ignored on
// decode, so a newer peer may add fields without bumping "v". Removing or
// retyping a field needs "v": 2, which this build refuses.

#include "client/agentlb_client.hpp"

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace agentlb::wire {

inline constexpr std::int64_t kProtocolVersion = 1;

// agent -> server, first frame of a session.
struct Hello {
    static constexpr std::string_view kType = "hello";
    std::string name;
    std::string zone;
    std::string list;  // what the agent holds, "a,b,c@algorithm"; "" when it holds nothing
    std::int64_t interval = 0;
    std::string version;  // agent software version; optional on decode ("" when absent)
    // Optional (issue 16): fingerprints ("sha256:...") of the CA certificates
    // the agent trusts. An agent that sends it understands `trust` and
    // `reissue`; the server sends those to no other agent (an older agent
    // closes on a message type it does not know). Empty when absent.
    std::vector<std::string> trusts{};
    // Optional (issue 19): the agent has an app socket and takes `app`
    // messages; the server sends them to no other agent. False when absent.
    bool app = false;
    bool operator==(const Hello&) const = default;
};

// either direction; answered by "pong" with the same seq.
struct Ping {
    static constexpr std::string_view kType = "ping";
    // Constructors rather than an aggregate: `Ping{seq}` stays warning-free
    // (-Wmissing-field-initializers) at every older call site.
    Ping() = default;
    Ping(std::int64_t seq_,
         std::optional<std::int64_t> rtt_us_ = std::nullopt)  // NOLINT: implicit on purpose
        : seq(seq_), rtt_us(rtt_us_) {}
    std::int64_t seq = 0;
    // agent -> server (optional, issue 15): the round trip of the agent's
    // last answered ping, in microseconds; the load-aware rebalancer moves
    // the agents with the highest first. Absent from servers' pings and
    // from older agents'; older servers ignore it.
    std::optional<std::int64_t> rtt_us;
    bool operator==(const Ping&) const = default;
};

// Answer to ping.
struct Pong {
    static constexpr std::string_view kType = "pong";
    std::int64_t seq = 0;
    bool operator==(const Pong&) const = default;
};

// agent -> server: the ms_list with this seq is persisted.
struct Ack {
    static constexpr std::string_view kType = "ack";
    std::int64_t seq = 0;
    bool operator==(const Ack&) const = default;
};

// agent -> server: a CSR (PEM) for a fresh certificate.
struct Renew {
    static constexpr std::string_view kType = "renew";
    std::string csr;
    bool operator==(const Renew&) const = default;
};

// server -> agent: the ordered list to use. Also the shape of welcome's "correction".
// In welcome and ms_list (optional): how the agent renews its certificate,
// from the certificate settings where its host is. Absent: P-256, at two
// thirds of the validity, on its own (what agents did before).
struct Renewal {
    std::string key_type;                // "p256", "p384", "rsa3072"
    std::int64_t fraction_permille = 0;  // 100..950
    bool automatic = true;
    bool operator==(const Renewal&) const = default;
};

struct MsList {
    static constexpr std::string_view kType = "ms_list";
    std::int64_t seq = 0;
    std::vector<std::string> list;
    std::string algorithm;
    std::int64_t interval = 0;
    std::vector<std::string> avoid;
    std::optional<Renewal> renewal{};
    bool operator==(const MsList&) const = default;
};

// server -> agent: the session is accepted.
struct Welcome {
    static constexpr std::string_view kType = "welcome";
    std::int64_t host_id = 0;
    std::string server;
    std::int64_t heartbeat_interval = 0;  // seconds
    std::optional<MsList> correction;     // absent (or null) when the agent's list is right
    std::optional<Renewal> renewal{};
    bool operator==(const Welcome&) const = default;
};

// server -> agent: reconnect elsewhere.
struct Migrate {
    static constexpr std::string_view kType = "migrate";
    std::string reason;
    std::vector<std::string> avoid;  // optional on decode, empty when absent
    // Optional: when not empty, move only to one of these entries (a
    // rebalance towards servers ahead in the list), and stay if none answers.
    std::vector<std::string> to;
    bool operator==(const Migrate&) const = default;
};

// server -> agent: answer to renew (PEM).
struct Certificate {
    static constexpr std::string_view kType = "certificate";
    std::string certificate;
    std::string ca;
    // Optional: the certificates between the leaf and `ca` (PEM, nearest
    // first) when the CA was imported (`ca` is then the organisation's root).
    std::string chain{};
    bool operator==(const Certificate&) const = default;
};

// server -> agent (issue 16): the CA certificates (PEM, one each) the cluster
// trusts. The agent adds one only when a CA it already trusts vouches for it
// (certs::check_vouched_ca) and never because a server merely sent it.
struct Trust {
    static constexpr std::string_view kType = "trust";
    std::vector<std::string> cas;
    bool operator==(const Trust&) const = default;
};

// server -> agent (issue 16): renew the certificate now (after a CA rotation).
struct Reissue {
    static constexpr std::string_view kType = "reissue";
    bool operator==(const Reissue&) const = default;
};

// either direction, usually followed by a close.
struct Error {
    static constexpr std::string_view kType = "error";
    std::string code;  // machine-readable, e.g. "identity_mismatch"
    std::string message;
    bool operator==(const Error&) const = default;
};

// agent -> enrollment port.
struct EnrollRequest {
    static constexpr std::string_view kType = "enroll";
    std::string token;
    std::string csr;  // PEM
    std::string name;
    std::string zone;  // "" = let the token or the server decide
    bool operator==(const EnrollRequest&) const = default;
};

// enrollment port -> agent.
struct EnrollResponse {
    static constexpr std::string_view kType = "enrolled";
    std::int64_t host_id = 0;
    std::string name;
    std::string zone;
    std::string certificate;  // PEM
    std::string ca;           // PEM: the trust anchor the agent pins
    std::vector<std::string> list;
    std::string algorithm;
    std::int64_t interval = 0;
    // Optional: the certificates between the leaf and `ca` (PEM, nearest
    // first) when the CA was imported; "" when absent.
    std::string chain{};
    bool operator==(const EnrollResponse&) const = default;
};

// agent -> enrollment port: renew a certificate that has expired, within the
// grace period (agentlb.ca.expired.cert.grace.period). `signature` (base64)
// is the expired certificate's key signing SHA-256(exporter || csr), where
// exporter is the 32-byte TLS exporter value of this connection
// (kRenewExpiredExporterLabel): it proves possession of the old key and binds
// the proof to this one TLS channel, so a captured request cannot be replayed
// elsewhere. Answered by `enrolled` or `error`.
struct RenewExpired {
    static constexpr std::string_view kType = "renew_expired";
    std::string certificate;  // PEM, the expired certificate
    std::string csr;          // PEM, for the new key
    std::string signature;    // base64
    bool operator==(const RenewExpired&) const = default;
};

// Either direction (issue 19): one frame of the platform's own messages, as
// the local protocol (client/agentlb_client.hpp) carries it between the host
// and the management application named `app`. The host is always the
// session's own: an agent cannot speak for another host.
// - "message": agent -> server, the host's stream to `app`; server -> agent,
//   `app`'s stream to the host. epoch, sequence, floor >= 1; reply_to optional.
// - "ack": every message of the other side's stream `epoch` up to `sequence`
//   was handed on (agent -> server: of `app`'s stream; server -> agent: of
//   the host's stream, acknowledged by `app`).
// - "undeliverable" (server -> agent): the host's message (epoch, sequence)
//   to `app` cannot be delivered; the payload says why.
// The payload is opaque bytes, base64 in the JSON, at most
// client::kMaxPayload bytes once decoded; what a kind does not use is absent
// or zero (checked as the local protocol checks it).
struct App {
    static constexpr std::string_view kType = "app";
    std::string kind;
    std::string app;
    std::int64_t epoch = 0;
    std::int64_t sequence = 0;
    std::int64_t floor = 0;
    std::int64_t reply_to = 0;
    std::string content_type{};
    std::string payload{};
    bool operator==(const App&) const = default;
};

// Between two servers, on the peer link only (issue 19): an app message
// forwarded to the server that holds its host's session (`to` "host") or its
// application's connection (`to` "app"), or sent back to the server it came
// from (an `undeliverable`). `host` names the host, `app.app` the
// application; the agent port never carries it.
struct Relay {
    static constexpr std::string_view kType = "relay";
    static constexpr std::string_view kToHost = "host";
    static constexpr std::string_view kToApp = "app";
    std::string to;
    std::string host;
    App app;
    bool operator==(const Relay&) const = default;
};

// SSL_export_keying_material's label and length for RenewExpired's binding.
inline constexpr std::string_view kRenewExpiredExporterLabel = "EXPORTER-agentlb-renew-expired";
inline constexpr std::size_t kRenewExpiredExporterLength = 32;

using Message = std::variant<Hello,
                             Ping,
                             Pong,
                             Ack,
                             Renew,
                             Welcome,
                             MsList,
                             Migrate,
                             Certificate,
                             Error,
                             EnrollRequest,
                             EnrollResponse,
                             RenewExpired,
                             Trust,
                             Reissue,
                             App,
                             Relay>;

// The local protocol's frame for an `app` message (peer = `app`), or nothing
// for a kind other than "message", "ack", "undeliverable".
std::optional<client::Frame> app_frame(const App& app);
// The `app` message for a local frame (app = its peer); nothing for a kind
// that does not cross the agent port, or a number beyond int64.
std::optional<App> app_message(const client::Frame& frame);
// What makes `app` invalid (the local protocol's rules for its kind), or "".
std::string app_problem(const App& app);

// The "type" value of a message: "hello", "ms_list", "enroll", "enrolled", ...
std::string_view message_type(const Message& message) noexcept;

// JSON payload (not framed). Strings that are not valid UTF-8 have the bad
// bytes replaced by U+FFFD rather than failing.
std::string encode_message(const Message& message);

// Parses one payload. On success `out` holds the message and `detail` is
// cleared; on failure `out` is untouched and `detail` says, for a person,
// which field and what was wrong, e.g. `field "seq" of "ack": expected an
// integer`. Text from the peer appears in `detail` only escaped and
// truncated, so it is safe to log. Never throws.
boost::system::error_code decode_message(std::string_view payload, Message& out, std::string& detail);

}  // namespace agentlb::wire
