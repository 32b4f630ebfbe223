#pragma once

// One agent connection on the agent port (8250): the driver of a
// protocol::ServerMachine, which holds every rule of the exchange (hello ->
// welcome or refusal, pushes and acks, ping, renewal, every timeout). This
// class does the I/O the machine asks for: the TLS handshake, reads, writes,
// store jobs, the registry, metrics and log lines.
//
// What an idle session costs is multiplied by 100,000, so no coroutine waits
// for an agent: the session waits for readability with a plain
// socket.async_wait (whose handler keeps it alive), then reads into one
// buffer per I/O thread and hands the bytes to the machine synchronously.
// Frames are written at once; only a full socket arms a write wait. The TLS
// handshake and each store call (lookup, record, renewal, disconnect) run as
// short-lived coroutines.
//
// One watchdog timer per session, armed at the machine's deadline() and
// re-armed only when it fires or when an input brings the deadline closer
// (a frame only moves it later): the machine decides what a firing means.
//
// Each session is bound to one io_context (one thread, see io_pool.hpp) and
// its members are touched only there. The machine is fed under
// status_mutex_, so that status() may read it from any thread.

#include "common/protocol/server_machine.hpp"
#include "common/tls/stream.hpp"
#include "mgmt/admission.hpp"
#include "mgmt/awaitable.hpp"
#include "mgmt/ca_set.hpp"
#include "mgmt/cluster_state.hpp"
#include "mgmt/frame_outbox.hpp"
#include "mgmt/metrics.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::mgmt {

class SharedState;

// What /v1/status shows for one session.
struct AgentStatus {
    std::int64_t host_id = 0;
    std::string name;
    std::string zone;
    std::string address;  // the agent's ip:port
    Assignment held;      // what it was last sent (or reported)
    std::int64_t connected_since = 0;
    bool welcomed = false;
    std::optional<std::int64_t> rtt_us;  // its last reported ping round trip
};

class AgentSession : public std::enable_shared_from_this<AgentSession> {
public:
    // `socket` is connected and bound to the io_context this session lives on;
    // `admission` is its handshake's slot (released at welcome or the end).
    AgentSession(boost::asio::ip::tcp::socket socket,
                 std::shared_ptr<SharedState> state,
                 Admission::Slot admission = {});
    ~AgentSession();

    void start();
    // Closes the session (server shutdown). Any thread.
    void stop();
    // A newer session of this host is recorded on server `by`: sends a
    // `superseded` error and closes. Any thread.
    void close_superseded(std::string by);
    // Asks the agent to reconnect elsewhere, avoiding `avoid`; with `to`,
    // only to one of those entries (wire::Migrate). Any thread.
    void migrate(std::string reason, std::vector<std::string> avoid, std::vector<std::string> to = {});
    // A drain ran out of time: sends a `draining` error saying `why` and
    // closes. Any thread.
    void end_draining(std::string why);
    // Has each session recompute its agent's list and push it when it
    // changed: one handler per I/O thread rather than one per session, since
    // a change reaches every agent at once. Any thread.
    static void apply_to_all(std::vector<std::shared_ptr<AgentSession>> sessions,
                             const std::shared_ptr<const ClusterSnapshot>& snapshot);

    AgentStatus status() const;

    // CA rotation (agent_session_ca.cpp). Sends `trust` when the agent
    // understands it (its hello had `trusts`) and the CAs it is known to
    // trust differ from `cas`'s. Any thread.
    void offer_trust(std::shared_ptr<const CaView> cas);
    // Sends `reissue` (renew now) to an agent that understands it. Any thread.
    void reissue();
    // The agent's current certificate was issued by the CA with this
    // subjectKeyIdentifier (hex): its authorityKeyIdentifier matches. Any thread.
    bool certificate_from(const std::string& ca_key_id) const;

    // An app message for the agent (issue 19, from the AppRouter; see
    // agent_session_app.cpp). Any thread.
    void send_app(wire::App app);
    // Whether the router may hand the session another app frame now: its
    // queue, with what is on its way there, is under kAppRoom. When not,
    // want_app_room() asks for AppRouter::on_room() once the queue has
    // drained to half, and returns whether there is room already (then no
    // call comes). Any thread.
    static constexpr std::uint32_t kAppRoom = 24;
    bool app_room() const;
    bool want_app_room();

private:
    // How far the session has come in ending (the machine says why).
    enum class Ending : std::uint8_t { no, flushing, done };
    // The session ticket: none yet, due (asked for at the next flush),
    // being written, or done with (sent, or none for this session).
    enum class Ticket : std::uint8_t { none, due, writing, done };

    boost::asio::awaitable<void> handshake();
    boost::asio::awaitable<void> look_up(protocol::LookupHost request);
    // The store cannot answer: the hello is answered from the last snapshot.
    void look_up_in_snapshot(const protocol::LookupHost& request, const std::string& why);
    boost::asio::awaitable<void> record(std::int64_t host_id);
    boost::asio::awaitable<void> issue(std::string csr);
    boost::asio::awaitable<void> forget_connection();

    // Reads while the machine wants input; `readable`: the socket was just
    // reported readable (else it is waited for first).
    void read_available(bool readable);
    void wait_readable(boost::asio::ip::tcp::socket::wait_type want);

    // Gives the machine one input (under status_mutex_), then carries out
    // what it returned.
    template <class Input>
    void feed(Input&& input);
    void carry_out(protocol::Actions actions);
    void apply_now(const std::shared_ptr<const ClusterSnapshot>& snapshot);
    void send(const wire::Message& message);
    void flush();
    // TLS 1.3 resumption (agent_session_ticket.cpp): one session ticket,
    // asked for once `welcome` and what came with it are written and sent
    // through flush(), off the handshake's critical path.
    void send_ticket();
    // Within flush(), once every frame is out: writes the ticket (asking
    // for it first when due); a full socket or an error lands in `flushed`.
    void flush_ticket(FrameOutbox::Flushed& flushed);
    HandshakeKind handshake_kind() const { return resumed_ ? HandshakeKind::resumed : HandshakeKind::full; }
    // The one close path.
    void close(const protocol::Close& close);
    void log_close(const protocol::Close& close) const;
    void close_stream();
    // Unregisters and clears "connected to" in the store; runs once.
    void end_session(const protocol::Close& close);
    // The --hook event of a welcomed session's end: agent.moved or agent.disconnected.
    void post_end_hook(const protocol::Close& close);
    // After the outbox changed: app_room()'s view of it, and the router's
    // call when it waits for room (agent_session_app.cpp).
    void note_outbox_depth();
    // The machine's AppFromHost (all of one input at once), and the
    // router's attach at welcome.
    void route_apps(std::vector<wire::App> apps);
    void attach_app();
    // On the session's thread: what send_app() gathered since the last time.
    void take_app_inbox();

    void arm_watchdog();
    void tighten_watchdog();
    void on_watchdog();

    // One read buffer per I/O thread, so that an idle session holds none:
    // reads fill it without suspending (a session never leaves its thread).
    static char* thread_read_buffer(std::size_t& size);
    std::string who() const;  // log prefix

    std::shared_ptr<SharedState> state_;
    // Held from accept until welcome is sent or the session ends (admission.hpp).
    Admission::Slot admission_;
    std::string peer_;
    tls::TlsStream stream_;
    boost::asio::steady_timer watchdog_;
    FrameOutbox outbox_;
    protocol::ServerMachine machine_;  // written under status_mutex_
    mutable std::mutex status_mutex_;
    std::int64_t connected_since_ = 0;  // for status(), under status_mutex_
    Ending ending_ = Ending::no;
    bool write_waiting_ = false;  // a wait for writability is armed
    // While the actions of one input are carried out, frames are queued and
    // written together at the end (one TLS record and one system call for
    // an ack and a message that came in one read).
    int flush_deferred_ = 0;
    bool flush_due_ = false;
    // App frames from the router, taken by one handler on the session's
    // thread however many came meanwhile (under app_inbox_mutex_).
    std::mutex app_inbox_mutex_;
    std::vector<wire::App> app_inbox_;
    // For app_room(): the outbox's frames, as of the last flush or app
    // frame queued, and the app frames posted here and not yet queued.
    std::atomic<std::uint32_t> outbox_depth_{0};
    std::atomic<std::uint32_t> app_posted_{0};
    std::atomic<bool> app_room_wanted_{false};
    bool resumed_ = false;  // the TLS handshake resumed a session (a ticket)
    // For agentlb_handshake_duration_seconds: the session is made at accept.
    std::chrono::steady_clock::time_point accepted_at_ = std::chrono::steady_clock::now();
    // The server the host's connection record named at hello, if another
    // one (for agentlb_failovers_observed_total, once welcomed).
    std::string previous_server_;
    Ticket ticket_ = Ticket::none;
    bool registered_ = false;  // in the registry and counted as connected
    // Welcomed from the snapshot: the record is written when the store is back.
    bool record_deferred_ = false;
    // For the membership events (--hook, the status page): agent.connected was posted (its end is posted
    // once), the reason of the last `migrate` this server sent, and the
    // server that superseded it.
    bool hook_connected_ = false;
    std::string migrate_reason_;
    std::string superseded_by_;
    // CA rotation: the authorityKeyIdentifier of the agent's certificate
    // (updated when this session renews it), under status_mutex_; the CA
    // fingerprints the agent is known to trust (hello's, then what was sent).
    std::string issuer_key_id_;
    std::vector<std::string> known_trust_;
    bool trust_known_ = false;
};

// In the header: the session's code is split over agent_session*.cpp.
template <class Input>
void AgentSession::feed(Input&& input) {
    protocol::Actions actions;
    {
        std::lock_guard lock(status_mutex_);
        actions = input(machine_);
    }
    tighten_watchdog();
    if (!actions.empty()) {
        carry_out(std::move(actions));
    }
}

}  // namespace agentlb::mgmt
