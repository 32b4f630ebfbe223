#pragma once

// One simulated agent: the real protocol over the real low-memory TLS stream
// (common/tls) with its own certificate. The exchange is the real agent's:
// each session runs protocol::AgentMachine (hello, welcome, ms_list -> ack,
// ping/pong and the heartbeat, migrate), and the choice of server and the
// backoff between passes are protocol::ConnectionPolicy's. This class only
// drives them: one frame-reading loop, one timer at the machine's deadline.
// The lists it is pushed are kept in memory, so a Persist is answered at once.
//
// live() is the agent's one long-lived coroutine: connect to a server, TLS
// handshake (offering the newest ticket it was sent, to whichever server it
// dials: all servers share the ticket keys), then the machine's session until
// the connection ends. Tickets are kept in memory only, as the real agent does.
// After a loss it goes through the policy's candidates in order, with the
// policy's backoff between full passes.
//
// Single-threaded: everything runs on the fleet's one io_context.

#include "common/protocol/agent_machine.hpp"
#include "common/protocol/connection_policy.hpp"
#include "common/tls/machine_timer.hpp"
#include "common/tls/stream.hpp"
#include "common/wire/messages.hpp"
#include "tools/bench/host_streams.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::bench {

class Fleet;

struct SslSessionDeleter {
    void operator()(SSL_SESSION* session) const noexcept { SSL_SESSION_free(session); }
};
using SslSessionPtr = std::unique_ptr<SSL_SESSION, SslSessionDeleter>;

struct X509Deleter {
    void operator()(X509* cert) const noexcept { X509_free(cert); }
};
using X509Handle = std::unique_ptr<X509, X509Deleter>;

// What one connection attempt came to.
struct Attempt {
    bool initial = false;  // the first attempt of a live(): counted by the phase that started it
    bool established = false;
    bool resumed = false;
    bool offered_ticket = false;                           // a ticket was offered (resumed or not)
    std::optional<std::chrono::milliseconds> pushed_back;  // the server's retry-after, when it pushed back
    std::string failure;                                   // a short reason, used as a counter key
    std::int64_t started_ns = 0;
    std::int64_t welcomed_ns = 0;
};

class SimAgent {
public:
    SimAgent(Fleet& fleet, std::size_t global_index, std::string name, std::int64_t host_id, X509Handle cert);

    SimAgent(const SimAgent&) = delete;
    SimAgent& operator=(const SimAgent&) = delete;

    // Connects to server `target` (an index into the fleet's servers) and
    // keeps the agent connected until park() or the fleet stops.
    boost::asio::awaitable<void> live(int target);

    // Closes the session; live() then returns instead of reconnecting.
    void park();

    bool established() const { return server_ >= 0; }
    bool running() const { return running_; }
    int server() const { return server_; }
    // The first server of its list (0 without a list).
    int preferred() const;
    std::int64_t host_id() const { return host_id_; }
    const std::string& name() const { return name_; }

    // The list it holds, as server indices, plus algorithm and interval.
    void set_held(std::vector<int> servers, std::string algorithm, std::int64_t interval);

    // A ticket the server sent on the current session (OpenSSL's new-session
    // callback): kept as the one to offer next.
    void keep_ticket(SSL_SESSION* session);
    bool holds_ticket() const { return ticket_ != nullptr; }

    // The host side of the platform's own messages (messages scenario): made
    // when the fleet takes them, announced in hello (`app`), fed what the
    // server sends; null otherwise.
    const HostStreams* app() const { return app_.get(); }
    // Resends due and answers expired (the fleet's ticker calls it).
    void app_tick(protocol::TimePoint now);

    // Trackers reset by the fleet at the start of a measurement.
    std::int64_t push_ns = 0;   // first ms_list since the last reset
    std::int64_t lost_ns = 0;   // connection lost since the last reset
    std::int64_t back_ns = 0;   // welcomed again after lost_ns
    bool back_resumed = false;  // that welcome came after a resumed handshake

private:
    using Machine = protocol::AgentMachine;

    boost::asio::awaitable<Attempt> attempt(int target);
    // The one frame-reading loop: feeds the machine while it is in `state`.
    boost::asio::awaitable<boost::system::error_code> pump(tls::TlsStream& stream, Machine::State state);
    boost::asio::awaitable<void> writer(std::shared_ptr<tls::TlsStream> stream, std::uint64_t session);
    // Carries out the machine's actions.
    void run(Machine::Actions actions);
    void arm_timer();
    void queue(const wire::Message& message);
    // Sends each through the machine (which drops them unless established).
    void send_app(std::vector<wire::App> messages);
    std::string held_text() const;
    void apply_list(const wire::MsList& list);

    Fleet& fleet_;
    std::size_t global_index_;
    std::string name_;
    std::int64_t host_id_;
    X509Handle cert_;
    std::shared_ptr<tls::TlsStream> stream_;
    SslSessionPtr ticket_;
    int server_ = -1;
    protocol::ConnectionPolicy policy_;  // hosts: the held list's addresses
    std::string algorithm_;
    std::int64_t interval_ = 0;
    std::optional<Machine> machine_;          // the current session's
    tls::MachineTimer timer_;                 // at machine_->deadline()
    bool refused_ = false;                    // the session ended with Refused
    std::optional<wire::ErrorCode> refusal_;  // its code, when known
    // A migrate's `to`: the next pass tries only these, as the real agent does.
    std::vector<std::string> relocate_to_;
    std::optional<Machine::CloseReason> closed_by_;
    std::string close_detail_;
    std::int64_t ping_sent_ns_ = 0;
    std::string out_;
    bool writing_ = false;
    bool parked_ = false;
    bool running_ = false;
    std::uint64_t session_ = 0;
    std::unique_ptr<HostStreams> app_;
};

}  // namespace agentlb::bench
