#pragma once

// The agent side of the agent port (8250), as a sans-I/O state machine: every
// rule of the exchange an agent has with a management server, from its
// `hello` to the end of the session. agentlb-agent (agent/server_session),
// the bench's simulated agents (tools/bench/sim_agent) and the tests' agent
// (tests/support/test_agent) drive it: they do the I/O and carry out the
// actions it returns.
//
//   awaiting_welcome --welcome--> established --(any Close)--> closed
//          |                                                     ^
//          +--error / timeout / bad frame / anything else--------+
//
// - start(hello): Send hello; the welcome deadline is armed.
// - welcome: values that become timers are range-checked (a value out of
//   range is a protocol error: nothing of it is used); the heartbeat starts;
//   Welcomed; a correction goes the push path (Persist, then ack).
// - error before welcome: Refused (its code typed), then Close. Anything
//   else before welcome closes.
// - established: ms_list -> range check -> Persist; on_persisted(seq, true)
//   -> Send ack, in the order the lists came (a list that could not be stored
//   is neither adopted nor acknowledged); ping -> pong; the heartbeat pings
//   every interval and closes after kMissedHeartbeatsBeforeDead unanswered
//   pings; migrate -> Migrate with the servers to avoid; certificate ->
//   CertificateReceived (renew() asks for one); trust -> TrustReceived; reissue ->
//   ReissueRequested (renew now); error -> ServerError (logged; the server closes if
//   it wants to); a second welcome is ignored; a message only an agent sends
//   closes (the server is broken).
//
// The machine does not log: actions carry the text to log, peer text escaped.

#include "common/protocol/frame_intake.hpp"
#include "common/protocol/time_point.hpp"
#include "common/tls/timeouts.hpp"
#include "common/wire/error_code.hpp"
#include "common/wire/messages.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace agentlb::protocol {

// The longest ping period the agent accepts from welcome: a server's own
// --heartbeat-interval is at most 3600 s; more is not a server of ours (and
// would overflow the timer's arithmetic).
inline constexpr std::chrono::seconds kMaxWelcomeHeartbeat{3600};

// Values the agent would turn into timers, bounded as the CLI bounds them
// (lb::kMaxCheckInterval, kMaxWelcomeHeartbeat): what is out of range, or ""
// when all is fine.
std::string out_of_range(const wire::MsList& list);
std::string out_of_range(const wire::Welcome& welcome);

// The ping period welcome asks for (capped at kMaxWelcomeHeartbeat);
// `fallback` when it names none.
std::chrono::milliseconds heartbeat_from_welcome(const wire::Welcome& welcome,
                                                 std::chrono::milliseconds fallback);

// The newest ping answered, after `pong`: a pong for a ping not sent yet
// answers no more than the last one sent.
std::int64_t answered_pings(std::int64_t last_pong, std::int64_t pings_sent, const wire::Pong& pong);

// After `migrate` from the server at `entry`: the servers it names, plus
// itself unless it is already among them or the migrate names where to go
// (`to`: a rebalance, which the agent may decline by staying).
std::vector<std::string> avoid_after_migrate(const wire::Migrate& migrate, std::string_view entry);

// "code: message", peer text escaped and bounded, for the log; a code this
// build does not know is named as such.
std::string describe_server_error(const wire::Error& error);

class AgentMachine {
public:
    enum class State {
        idle,              // start() not called yet
        awaiting_welcome,  // hello sent
        established,       // welcome received
        closed,            // after a Close: every input is ignored
    };

    enum class CloseReason {
        welcome_timeout,   // no welcome in time
        refused,           // the server answered hello with `error`
        protocol_error,    // bad frame or message, a value out of range, an unexpected message
        heartbeat_missed,  // kMissedHeartbeatsBeforeDead pings unanswered
        local,             // the driver closed (transport lost, stop, switch): close()
    };

    struct Settings {
        std::string entry;  // the list entry dialled: what migrate's avoid list adds
        std::chrono::milliseconds welcome_timeout{tls::kHandshakeTimeout};
        std::chrono::milliseconds heartbeat_fallback{tls::kHeartbeatInterval};  // welcome names none
        // The first ping goes this fraction of the heartbeat after welcome
        // (clamped to [0, 1]); later ones every heartbeat. The agent pings a
        // whole heartbeat after welcome; a fleet of simulated agents that
        // connect together passes a random phase so that they do not ping in step.
        double first_ping_phase = 1.0;
    };

    // Write this message.
    struct Send {
        wire::Message message;
    };
    // The server accepted the session: it counts as connected from here.
    struct Welcomed {
        wire::Welcome welcome;
        std::chrono::milliseconds heartbeat;
    };
    // Store this list, then call on_persisted(seq, ok). `correction`: it came
    // in welcome rather than as an ms_list.
    struct Persist {
        wire::MsList list;
        bool correction = false;
    };
    // The server asks the agent to reconnect elsewhere, avoiding these; with
    // `to`, only to one of those entries, staying if none answers.
    struct Migrate {
        std::string reason;  // escaped, for the log
        std::vector<std::string> avoid;
        std::vector<std::string> to;
    };
    struct CertificateReceived {
        wire::Certificate certificate;
    };
    // The CAs the cluster trusts: the agent decides what of it to adopt
    // (agent/trust_update.hpp), never the machine.
    struct TrustReceived {
        wire::Trust trust;
    };
    // The server asks for a renewal now (a CA rotation's --reissue-all).
    struct ReissueRequested {};
    // An `error` after welcome: log it.
    struct ServerError {
        std::optional<wire::ErrorCode> code;  // nothing for a code this build does not know
        std::string detail;                   // describe_server_error()
    };
    // The server answered hello with `error`; a Close follows.
    struct Refused {
        std::optional<wire::ErrorCode> code;
        std::string detail;
    };
    // An `app` message from the server (issue 19): hand it to the local
    // client. Only when hello announced an app socket.
    struct AppReceived {
        wire::App app;
    };
    // Nothing to do; for a debug log.
    struct Ignored {
        std::string detail;
    };
    // The one way a session ends. `flush_first`: send what is queued (and
    // close_notify) before closing.
    struct Close {
        CloseReason reason;
        std::string detail;  // safe to log
        bool flush_first = false;
    };

    using Action = std::variant<Send,
                                Welcomed,
                                Persist,
                                Migrate,
                                CertificateReceived,
                                ServerError,
                                Refused,
                                Ignored,
                                Close,
                                TrustReceived,
                                ReissueRequested,
                                AppReceived>;
    using Actions = std::vector<Action>;

    explicit AgentMachine(Settings settings);

    // Sends `hello` and arms the welcome deadline. Only in state idle.
    Actions start(wire::Hello hello, TimePoint now);

    // Bytes read from the stream, as they came.
    Actions on_bytes(const void* data, std::size_t size, TimePoint now);
    // One decoded message (what on_bytes does for each message in the bytes).
    Actions on_message(const wire::Message& message, TimePoint now);
    // The answer to Persist: `ok` once the list is stored (an ack goes out,
    // in the order the lists came), false when it was refused or not stored.
    Actions on_persisted(std::int64_t seq, bool ok, TimePoint now);
    // The timer armed at deadline() fired (early is harmless).
    Actions on_timer(TimePoint now);
    // The driver ends the session (transport lost, stop, switch): a Close
    // with `detail`, or nothing when already closed.
    Actions close(std::string detail, bool flush_first);
    // Asks for a fresh certificate (`csr` in PEM); only on an established
    // session (the answer comes as CertificateReceived).
    Actions renew(std::string csr);
    // Sends an `app` message from the local client (issue 19): a Send on an
    // established session whose hello announced an app socket; nothing
    // otherwise (the client sends it again on a later session).
    Actions send_app(wire::App app);

    State state() const { return state_; }
    // When on_timer is due: the welcome deadline, then the next ping;
    // TimePoint::max() when closed.
    TimePoint deadline() const;
    std::chrono::milliseconds heartbeat() const { return heartbeat_; }
    std::int64_t pings_sent() const { return pings_sent_; }
    // hello announced an app socket (issue 19).
    bool takes_app() const { return takes_app_; }
    std::int64_t pings_answered() const { return last_pong_; }
    // The round trip of the last ping answered before the next was sent;
    // nothing until one was. Sent to the server with the next ping.
    std::optional<std::chrono::microseconds> last_rtt() const { return last_rtt_; }

private:
    enum class PushState : std::uint8_t { storing, stored, failed };
    struct PendingPush {
        std::int64_t seq;
        PushState state;
    };

    void on_welcome(const wire::Welcome& welcome, TimePoint now, Actions& out);
    void on_established_message(const wire::Message& message, TimePoint now, Actions& out);
    void persist(const wire::MsList& list, bool correction, Actions& out);
    void finish(CloseReason reason, std::string detail, bool flush_first, Actions& out);

    Settings settings_;
    FrameIntake intake_;
    State state_ = State::idle;
    TimePoint welcome_deadline_ = TimePoint::max();
    TimePoint next_ping_ = TimePoint::max();
    std::chrono::milliseconds heartbeat_{0};
    std::int64_t pings_sent_ = 0;
    std::int64_t last_pong_ = 0;
    TimePoint last_ping_at_{};  // when ping number pings_sent_ left
    std::optional<std::chrono::microseconds> last_rtt_;
    // Lists handed out by Persist and not acknowledged yet, in arrival order
    // (released when empty: idle sessions hold no capacity).
    std::vector<PendingPush> pushes_;
    bool takes_app_ = false;  // hello announced an app socket
};

}  // namespace agentlb::protocol
