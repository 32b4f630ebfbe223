#pragma once

// One simulated agent: the real protocol (common/wire frames and messages)
// over the real low-memory TLS stream (common/tls) with its own certificate.
//
// live() is the agent's one long-lived coroutine: connect to a server, TLS
// handshake (resuming with the ticket of an earlier session to that server
// when it has one), hello, wait for welcome, then serve: answer ms_list with
// ack and take pongs, until the connection ends. After a loss it goes through
// its list in order, as the real agent does (backoff 1 s x2 up to 60 s, +-20 %,
// between full passes). Pings are sent by the fleet's ticker (send_ping()).
//
// Single-threaded: everything runs on the fleet's one io_context.

#include "common/tls/stream.hpp"
#include "common/wire/frame.hpp"
#include "common/wire/messages.hpp"

#include <boost/asio/awaitable.hpp>

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
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
    std::string failure;  // a short reason, used as a counter key
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

    // Queues a ping carrying the send time; no-op unless established.
    void send_ping(std::int64_t now_ns);

    bool established() const { return server_ >= 0; }
    bool running() const { return running_; }
    int server() const { return server_; }
    // The first server of its list (0 without a list).
    int preferred() const { return held_.empty() ? 0 : held_.front(); }
    std::int64_t host_id() const { return host_id_; }
    const std::string& name() const { return name_; }

    // The list it holds, as server indices, plus algorithm and interval.
    void set_held(std::vector<int> servers, std::string algorithm, std::int64_t interval);

    // Trackers reset by the fleet at the start of a measurement.
    std::int64_t push_ns = 0;  // first ms_list since the last reset
    std::int64_t lost_ns = 0;  // connection lost since the last reset
    std::int64_t back_ns = 0;  // welcomed again after lost_ns

private:
    boost::asio::awaitable<Attempt> attempt(int target);
    boost::asio::awaitable<void> serve(std::shared_ptr<tls::TlsStream> stream);
    boost::asio::awaitable<void> writer(std::shared_ptr<tls::TlsStream> stream, std::uint64_t session);
    void handle(const wire::Message& message, tls::TlsStream& stream);
    void send(const wire::Message& message);
    std::string held_text() const;
    void apply_list(const wire::MsList& list);
    // The server to try after `failed_position` in the held list, or -1 after a full pass.
    int next_candidate(int& position) const;

    Fleet& fleet_;
    std::size_t global_index_;
    std::string name_;
    std::int64_t host_id_;
    X509Handle cert_;
    std::shared_ptr<tls::TlsStream> stream_;
    SslSessionPtr ticket_;
    int ticket_server_ = -1;
    int server_ = -1;
    std::vector<int> held_;
    std::string algorithm_;
    std::int64_t interval_ = 0;
    wire::FrameDecoder decoder_;
    std::string out_;
    bool writing_ = false;
    bool parked_ = false;
    bool running_ = false;
    std::uint64_t session_ = 0;
};

}  // namespace agentlb::bench
