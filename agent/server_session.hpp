#pragma once

// One live connection from the agent to a management server.
//
// dial() does everything before a server counts as connected: TCP connect,
// TLS handshake (server certificate checked against the dialled name), hello,
// and the wait for `welcome`. In TLS 1.3 the client's handshake ends before
// the server has checked our certificate, so only `welcome` proves that the
// server accepted us.
//
// After start() the session runs three coroutines on the agent's single I/O
// thread: a reader that hands pushed messages to SessionEvents, a writer that
// drains the send queue, and a heartbeat that pings every interval and
// closes the session after kMissedHeartbeatsBeforeDead unanswered pings.
// on_closed() is called exactly once, after the reader has stopped.

#include "common/tls/deadline.hpp"
#include "common/tls/stream.hpp"
#include "common/tls/timeouts.hpp"
#include "common/wire/frame.hpp"
#include "common/wire/messages.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

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
    virtual void on_list(const std::shared_ptr<ServerSession>& session, const wire::MsList& list) = 0;
    virtual void on_migrate(const std::shared_ptr<ServerSession>& session, const wire::Migrate& migrate) = 0;
    virtual void on_certificate(const std::shared_ptr<ServerSession>& session,
                                const wire::Certificate& cert) = 0;
    virtual void on_closed(const std::shared_ptr<ServerSession>& session, const std::string& reason) = 0;
};

struct DialOutcome {
    std::shared_ptr<ServerSession> session;  // set once `welcome` arrived
    std::string reason;                      // why not, for the log
    bool refused = false;                    // TCP connection refused
    bool rejected = false;                   // the server answered with `error`
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

    // Starts reading, writing and the heartbeat. A correction in `welcome`
    // is delivered to events.on_list() first.
    void start(SessionEvents& events);

    // Queues a message; dropped once the session is closing.
    void send(const wire::Message& message);

    // Deliberate end: sends close_notify (bounded by the shutdown timeout),
    // then closes. Idempotent.
    void close(const std::string& reason);

    // close() after `grace`, unless closed before: the old session of a
    // make-before-break switch stays a moment, so that an answer in flight
    // on it (an ack) is not lost and the servers see the new session first.
    void retire(std::chrono::milliseconds grace, const std::string& reason);

    const std::string& entry() const { return entry_; }
    const wire::Welcome& welcome() const { return welcome_; }
    bool is_open() const { return !closing_; }

private:
    ServerSession(boost::asio::ip::tcp::socket socket, SSL_CTX* context, std::string entry);

    boost::asio::awaitable<void> read_loop();
    boost::asio::awaitable<void> write_loop();
    boost::asio::awaitable<void> heartbeat_loop();
    // Failure: close at once, keep the first reason.
    void abort(const std::string& reason);
    void dispatch(const wire::Message& message);

    std::string entry_;
    tls::TlsStream stream_;
    tls::Deadline close_deadline_;  // bounds a deliberate close; after stream_ (destroyed first)
    wire::FrameDecoder decoder_;
    wire::Welcome welcome_;
    SessionEvents* events_ = nullptr;
    std::chrono::milliseconds heartbeat_interval_{tls::kHeartbeatInterval};

    std::deque<std::string> outbox_;  // encoded frames
    boost::asio::steady_timer write_signal_;
    boost::asio::steady_timer heartbeat_timer_;
    boost::asio::steady_timer retire_timer_;
    std::int64_t pings_sent_ = 0;
    std::int64_t last_pong_ = 0;

    bool started_ = false;
    bool closing_ = false;
    std::string close_reason_;
};

}  // namespace agentlb::agent
