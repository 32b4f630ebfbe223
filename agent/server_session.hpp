#pragma once

// One live connection from the agent to a management server: the driver of
// protocol::AgentMachine, which holds every rule of the exchange. This class
// only does the I/O: TCP connect, TLS, bytes read fed to the machine, frames
// written, one timer armed at the machine's deadline(), and the machine's
// actions carried out (SessionEvents for what concerns the Agent).
//
// dial() does everything before a server counts as connected: TCP connect,
// TLS handshake (server certificate checked against the dialled name), hello,
// and the wait for `welcome`. In TLS 1.3 the client's handshake ends before
// the server has checked our certificate, so only `welcome` proves that the
// server accepted us.
//
// After start() the session runs two coroutines on the agent's single I/O
// thread: a reader that feeds the machine, and a writer that drains the send
// queue. on_closed() is called exactly once, after the reader has stopped.

#include "common/protocol/agent_machine.hpp"
#include "common/protocol/push_back.hpp"
#include "common/tls/deadline.hpp"
#include "common/tls/machine_timer.hpp"
#include "common/tls/stream.hpp"
#include "common/tls/timeouts.hpp"
#include "common/wire/messages.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::agent {

class ServerSession;

struct SessionTimeouts {
    std::chrono::milliseconds connect{5'000};
    std::chrono::milliseconds welcome{10'000};    // TLS handshake + hello -> welcome
    std::chrono::milliseconds heartbeat{10'000};  // used when welcome names none
};

// Called on the I/O thread. The agent outlives its sessions' coroutines.
class SessionEvents {
public:
    virtual ~SessionEvents() = default;
    // Store `list`, then answer session->on_persisted(list.seq, stored).
    virtual void on_list(const std::shared_ptr<ServerSession>& session, const wire::MsList& list) = 0;
    virtual void on_migrate(const std::shared_ptr<ServerSession>& session,
                            const protocol::AgentMachine::Migrate& migrate) = 0;
    virtual void on_certificate(const std::shared_ptr<ServerSession>& session,
                                const wire::Certificate& cert) = 0;
    // The CAs the cluster trusts (agent/trust_update.hpp decides what to adopt).
    virtual void on_trust(const std::shared_ptr<ServerSession>& session, const wire::Trust& trust) = 0;
    // The server asks for a renewal now.
    virtual void on_reissue(const std::shared_ptr<ServerSession>& session) = 0;
    virtual void on_closed(const std::shared_ptr<ServerSession>& session, const std::string& reason) = 0;
    // An `app` message from the server (issue 19; only when hello announced one).
    virtual void on_app(const std::shared_ptr<ServerSession>& /*session*/, const wire::App& /*app*/) {}
    // The send queue has room for app messages again (see app_ready()).
    virtual void on_app_room(const std::shared_ptr<ServerSession>& /*session*/) {}
};

struct DialOutcome {
    std::shared_ptr<ServerSession> session;  // set once `welcome` arrived
    std::string reason;                      // why not, for the log
    bool refused = false;                    // TCP connection refused
    bool rejected = false;                   // the server answered with `error`
    std::optional<wire::ErrorCode> code;     // that error's code, when this build knows it
    // The server answered with a push-back line instead of TLS (too many
    // handshakes in progress there): try the next server now.
    std::optional<protocol::PushBack> push_back;
};

class ServerSession : public std::enable_shared_from_this<ServerSession> {
public:
    // `entry` is the list entry as written ("10.0.0.1:8250"); it is what the
    // server certificate must name.
    static boost::asio::awaitable<DialOutcome> dial(boost::asio::any_io_executor executor,
                                                    std::string entry,
                                                    SSL_CTX* context,
                                                    wire::Hello hello,
                                                    SessionTimeouts timeouts);

    ~ServerSession();

    // Starts reading and writing. What arrived with `welcome` (its
    // correction first) is delivered to `events` now.
    void start(SessionEvents& events);

    // The answer to events.on_list(): the machine acknowledges stored lists.
    void on_persisted(std::int64_t seq, bool stored);
    // Asks for a fresh certificate (the answer comes to events.on_certificate).
    void renew(std::string csr);

    // Deliberate end: sends close_notify (bounded by the shutdown timeout),
    // then closes. Idempotent.
    void close(const std::string& reason);

    // close() after `grace`, unless closed before: the old session of a
    // make-before-break switch stays a moment, so that an answer in flight
    // on it (an ack) is not lost and the servers see the new session first.
    void retire(std::chrono::milliseconds grace, const std::string& reason);

    // An app message can be queued now: the session is established, its
    // hello announced an app socket, and the send queue has room.
    bool app_ready() const;
    // Queues an app message (issue 19); dropped when !app_ready().
    void send_app(wire::App app);

    const std::string& entry() const { return entry_; }
    const wire::Welcome& welcome() const { return welcome_; }
    // The TLS handshake resumed a session from the kept ticket.
    bool resumed() const { return stream_.resumed(); }
    bool is_open() const { return !closing_; }

private:
    using Machine = protocol::AgentMachine;

    ServerSession(boost::asio::ip::tcp::socket socket,
                  SSL_CTX* context,
                  std::string entry,
                  const SessionTimeouts& timeouts);

    boost::asio::awaitable<void> read_loop();
    boost::asio::awaitable<void> write_loop();
    // Carries out the machine's actions; before start() those for the Agent
    // wait in held_.
    void run(Machine::Actions actions);
    void run_one(Machine::Action& action);
    void queue(const wire::Message& message);
    void arm_timer();
    // The two ways the stream ends (the machine's Close says which); the
    // first reason is kept.
    void shut_gracefully(const std::string& reason);
    void abort(const std::string& reason);

    std::string entry_;
    tls::TlsStream stream_;
    tls::Deadline close_deadline_;  // bounds a deliberate close; after stream_ (destroyed first)
    Machine machine_;
    wire::Welcome welcome_;
    SessionEvents* events_ = nullptr;
    std::vector<Machine::Action> held_;            // for the Agent, arrived before start()
    bool refused_ = false;                         // the machine said Refused (dial's outcome)
    std::optional<wire::ErrorCode> refusal_code_;  // its code

    std::deque<std::string> outbox_;  // encoded frames
    boost::asio::steady_timer write_signal_;
    tls::MachineTimer timer_;  // at machine_.deadline()
    boost::asio::steady_timer retire_timer_;

    bool started_ = false;
    bool closing_ = false;
    std::string close_reason_;
};

}  // namespace agentlb::agent
