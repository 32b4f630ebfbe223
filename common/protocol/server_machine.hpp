#pragma once

// The server side of the agent port (8250), one agent session, as a sans-I/O
// state machine: the driver (agentlb-mgmt's AgentSession, the tests'
// FakeMgmt) reads, writes, runs the store and the clock; every rule of the
// exchange is here.
//
//   awaiting_handshake --on_handshake_done--> awaiting_hello --hello--> looking_up
//   looking_up --on_lookup--> recording --on_recorded--> established <--> renewing
//   any --Close{flush_first}--> closing --on_flushed (all out)--> closed
//   any --Close--> closed
//
// Inputs return the actions to carry out, in order. After a Close the
// machine ignores every input but on_flushed and on_timer (a refusal still
// being written is bounded too).
//
// Size matters: agentlb-mgmt holds one per connected agent (100,000), so the
// machine keeps only what a session must remember; what the driver needs
// only while acting travels in the actions.

#include "common/lb/algorithm.hpp"
#include "common/lb/assignment.hpp"
#include "common/protocol/frame_intake.hpp"
#include "common/protocol/server_close_reason.hpp"
#include "common/protocol/time_point.hpp"
#include "common/wire/error_code.hpp"
#include "common/wire/messages.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace agentlb::protocol {

// Shared by every session of one server (never copied into a machine).
struct ServerSettings {
    std::string server_name;                      // welcome's `server`
    std::chrono::seconds handshake_timeout{10};   // TLS handshake, then again for hello
    std::chrono::seconds heartbeat_interval{10};  // welcome's; silence limit is a few of them
};

// ms_list sequence numbers: increasing over the server's lifetime, one
// counter for all its sessions, owned by the driver.
class SeqCounter {
public:
    std::int64_t next() noexcept { return value_.fetch_add(1) + 1; }

private:
    std::atomic<std::int64_t> value_{0};
};

// What the TLS layer said of the client certificate (the driver checks it
// with certs::check_leaf; the machine only reads the verdict).
enum class CertificateCheck : std::uint8_t { good, revoked, bad };

struct PeerCertificate {
    bool present = false;
    std::string common_name;
    std::string serial;
    CertificateCheck check = CertificateCheck::good;
    std::string problem;  // why check is not good, safe to log
};

// The store's answer to LookupHost, with the assignment the driver computed
// from its snapshot (or from the zone's ids, for a host newer than it).
struct HostLookup {
    bool found = false;
    std::int64_t host_id = 0;
    std::string zone;
    bool revoked = false;                      // the certificate's serial
    lb::Assignment assignment;                 // meaningful when found
    const lb::Algorithm* algorithm = nullptr;  // never null when found
    std::int64_t generation = 0;               // the store's, read last
    std::optional<wire::Renewal> renewal{};    // sent in welcome (the certificate settings where the host is)
};

// A new cluster snapshot, as it concerns this session's host.
struct AssignmentUpdate {
    std::int64_t generation = 0;
    bool host_present = true;     // the snapshot lists the host in its zone
    bool serial_revoked = false;  // the session's certificate is revoked now
    lb::Assignment next;          // meaningful when host_present
    const lb::Algorithm* algorithm = nullptr;
    // A change from what the agent was told pushes an ms_list even when the list is the same.
    std::optional<wire::Renewal> renewal{};
};

// The answer to IssueCertificate.
struct Issued {
    enum class Outcome : std::uint8_t { issued, refused, failed };
    Outcome outcome = Outcome::failed;
    std::string certificate;  // issued: PEM
    std::string ca;           // issued: PEM
    std::string reason;       // refused: for the agent and the log
    std::string chain{};      // issued: between the leaf and ca (imported CA), PEM; "" for none
};

// Actions for the driver, in the order they must be carried out.
struct Send {
    wire::Message message;
};
// Read the store: the host named `name`, whether `serial` is revoked, the
// store's generation; answer with on_lookup (or on_lookup_failed).
struct LookupHost {
    std::string name;
    std::string serial;
    std::string reported_zone;  // hello's zone, as the agent sent it
};
// Accepted: register the session and record "connected to" in the store,
// then on_recorded (also when recording failed: the driver retries later).
struct RecordConnection {
    std::int64_t host_id = 0;
};
// `welcome` was queued: status shows the session; apply the newest snapshot.
struct Welcomed {
    bool corrected = false;
};
// Issue a certificate for this CSR (CA + store); answer with on_issued.
// Reading pauses until then.
struct IssueCertificate {
    std::string csr;
};
// An ms_list push with this seq was queued (metrics; machine.held() is what it says).
struct Pushed {
    std::int64_t seq = 0;
};
// The ack of a push arrived `latency` after it was queued.
struct PushAcked {
    std::int64_t seq = 0;
    Clock::duration latency{};
};
// A push will never be acknowledged (counted, not a reason to close).
struct PushGivenUp {
    std::int64_t seq = 0;
    std::string why;
};
// The one way a session ends. `flush_first`: write what is queued (a
// refusal), then close; otherwise close at once. `detail` is safe to log.
struct Close {
    CloseReason reason = CloseReason::stopped;
    std::string detail;
    bool flush_first = false;
};

// The host sent an `app` message ("message" or "ack"; issue 19): route it.
// Its host is this session's (name()), whatever the message says.
struct AppFromHost {
    wire::App app;
};

using Action = std::variant<Send,
                            LookupHost,
                            RecordConnection,
                            Welcomed,
                            IssueCertificate,
                            Pushed,
                            PushAcked,
                            PushGivenUp,
                            Close,
                            AppFromHost>;
using Actions = std::vector<Action>;

class ServerMachine {
public:
    enum class State : std::uint8_t {
        awaiting_handshake,
        awaiting_hello,
        looking_up,
        recording,
        established,
        renewing,  // established, reading paused until on_issued
        closing,   // a refusal is being written
        closed,
    };

    // Frames waiting to be written; an agent that lets more pile up is dropped.
    static constexpr std::size_t kMaxQueuedFrames = 64;
    // ms_list pushes remembered for their ack.
    static constexpr std::size_t kMaxPendingAcks = 64;

    // `settings` outlives the machine (one for the whole server).
    ServerMachine(const ServerSettings& settings, TimePoint now);

    State state() const noexcept { return state_; }
    // welcome was queued (and the session not closed since).
    bool welcomed() const noexcept;
    // The driver reads only while this holds.
    bool wants_input() const noexcept;

    // Known once hello matched the certificate ("" before).
    const std::string& name() const noexcept { return name_; }
    const std::string& serial() const noexcept { return serial_; }
    std::int64_t host_id() const noexcept { return host_id_; }
    const std::string& zone() const noexcept { return zone_; }
    // hello's `trusts`: the CA fingerprints the agent trusts; empty for an
    // agent that sends none (it understands neither `trust` nor `reissue`).
    const std::vector<std::string>& trusts() const noexcept { return trusts_; }
    // The agent announced an app socket in hello (issue 19).
    bool takes_app() const noexcept { return takes_app_; }
    // What the agent holds: reported in hello, then as corrected or pushed.
    const lb::Assignment& held() const noexcept { return held_; }
    // The ping round trip the agent last reported (microseconds); nothing
    // from an agent that reports none (older agents). Kept per session only.
    std::optional<std::int64_t> rtt_us() const noexcept { return rtt_us_; }
    std::size_t pending_acks() const noexcept { return pending_.size(); }
    // Why it closed (meaningful once closing or closed).
    CloseReason close_reason() const noexcept { return close_reason_; }
    // At a frame boundary: a close here cut no frame in half.
    bool input_idle() const noexcept { return intake_.idle(); }

    // The next time on_timer has work (TimePoint::max() when none).
    TimePoint deadline() const noexcept;
    // Early calls are harmless.
    Actions on_timer(TimePoint now);

    Actions on_handshake_done(PeerCertificate certificate, TimePoint now);
    // Bytes as read from the stream.
    Actions on_bytes(const void* data, std::size_t size, TimePoint now);
    // A decoded message (tests script these; on_bytes ends here too).
    Actions on_message(const wire::Message& message, TimePoint now);
    // The stream ended: `routine` for an orderly close or reset by the peer.
    Actions on_read_error(bool routine, std::string detail, TimePoint now);

    Actions on_lookup(HostLookup lookup, SeqCounter& seqs, TimePoint now);
    Actions on_lookup_failed(TimePoint now);
    // The server takes no agents now (maintenance, shutting down): a hello
    // being looked up is refused `draining` with `message`; a welcomed
    // session (a drain that timed out) is sent the same error and closed.
    Actions on_draining(std::string message, TimePoint now);
    Actions on_recorded(TimePoint now);
    Actions on_issued(Issued issued, TimePoint now);
    Actions on_assignment(const AssignmentUpdate& update, SeqCounter& seqs, TimePoint now);

    // After each write attempt: `queued` frames wait in the driver's queue;
    // `blocked`: the socket is full and a write wait is armed. More than
    // kMaxQueuedFrames waiting closes (the agent does not read).
    Actions on_flushed(std::size_t queued, bool blocked, TimePoint now);

    // A newer session of this host is recorded on server `by`.
    Actions on_superseded(std::string_view by, TimePoint now);
    // Asks the agent to reconnect elsewhere (drain).
    // `to`: see wire::Migrate (empty: anywhere but here).
    Actions on_migrate(std::string reason,
                       std::vector<std::string> avoid,
                       TimePoint now,
                       std::vector<std::string> to = {});
    // The driver ends the session itself (shutdown, a failed handshake or write).
    Actions on_abort(CloseReason reason, std::string detail, TimePoint now);
    // An `app` message for the host (issue 19): a Send once welcomed, to an
    // agent that announced an app socket; nothing otherwise (the driver
    // answers `undeliverable`).
    Actions send_app(wire::App app);

private:
    using Pending = std::pair<std::int64_t, TimePoint>;  // seq, queued at

    Clock::duration idle_limit() const noexcept;
    void handle(const wire::Message& message, TimePoint now, Actions& out);
    void accept_hello(const wire::Hello& hello, TimePoint now, Actions& out);
    void take_messages(TimePoint now, Actions& out);
    void send(wire::Message message, Actions& out);
    void refuse(wire::ErrorCode code,
                std::string message,
                CloseReason reason,
                std::string detail,
                TimePoint now,
                Actions& out);
    void close(CloseReason reason, std::string detail, TimePoint now, Actions& out);
    void on_ack(std::int64_t seq, TimePoint now, Actions& out);
    void give_up(std::int64_t below_seq, TimePoint sent_before, std::string_view why, Actions& out);

    const ServerSettings* settings_;
    FrameIntake intake_;
    // What only the way to welcome needs: the certificate until hello was
    // checked against it, then welcome until the connection is recorded.
    struct Handshake {
        PeerCertificate certificate;
        wire::Welcome welcome;
    };
    std::unique_ptr<Handshake> handshake_;
    std::string name_;
    std::string serial_;
    std::string zone_;
    std::vector<std::string> trusts_;
    bool takes_app_ = false;
    std::int64_t host_id_ = 0;
    std::optional<std::int64_t> rtt_us_;
    std::int64_t hello_generation_ = 0;
    lb::Assignment held_;
    // The renewal policy the agent was last sent (welcome or ms_list).
    std::optional<wire::Renewal> renewal_;
    // Pushes awaiting their ack, oldest first (seqs grow). A vector, freed
    // when empty: an idle session holds none.
    std::vector<Pending> pending_;
    // The handshake, hello or closing deadline.
    TimePoint phase_deadline_;
    TimePoint last_frame_{};
    TimePoint write_blocked_since_{};
    State state_ = State::awaiting_handshake;
    CloseReason close_reason_ = CloseReason::stopped;
    bool write_blocked_ = false;
};

}  // namespace agentlb::protocol
