#pragma once

// One agent connection on the agent port (8250).
//
// Lifetime (Asio-example style): owned by shared_ptr, kept alive by its two
// coroutines. run() does the TLS handshake, waits for `hello`, checks the
// agent's identity, answers `welcome`, then reads frames until the agent
// goes away, sends something wrong, or misses kMissedHeartbeatsBeforeDead
// heartbeats. writer() drains a bounded queue, woken by a timer. stop() may
// be called from any thread, any number of times.
//
// Each session is bound to one io_context (one thread, see io_pool.hpp): all
// members are touched only there, except status_ (own mutex).
//
// Timeouts: handshake and hello each --handshake-timeout (10 s); a frame at
// least every heartbeat_interval * kMissedHeartbeatsBeforeDead (30 s); a
// write completes within the same span.

#include "common/tls/deadline.hpp"
#include "common/tls/stream.hpp"
#include "common/wire/frame.hpp"
#include "common/wire/messages.hpp"
#include "mgmt/awaitable.hpp"
#include "mgmt/cluster_state.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

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
};

class AgentSession : public std::enable_shared_from_this<AgentSession> {
public:
    // Frames waiting to be written; an agent that lets more pile up is dropped.
    static constexpr std::size_t kMaxQueuedFrames = 64;
    // ms_list pushes remembered for their ack.
    static constexpr std::size_t kMaxPendingAcks = 64;

    // `socket` is connected and bound to the io_context this session lives on.
    AgentSession(boost::asio::ip::tcp::socket socket, std::shared_ptr<SharedState> state);
    ~AgentSession();

    void start();
    void stop();
    // Recomputes this agent's list and pushes it when it changed. Any thread.
    void apply(std::shared_ptr<const ClusterSnapshot> snapshot);

    AgentStatus status() const;

private:
    struct ReadResult {
        std::optional<wire::Message> message;
        std::string reason;    // why nothing was read (for the log)
        bool routine = false;  // a normal close, logged at debug
    };

    boost::asio::awaitable<void> run();
    boost::asio::awaitable<bool> handshake();
    boost::asio::awaitable<bool> accept_hello(const wire::Hello& hello);
    boost::asio::awaitable<ReadResult> read_message();
    boost::asio::awaitable<bool> handle(const wire::Message& message);
    boost::asio::awaitable<void> renew(std::string csr);
    boost::asio::awaitable<void> writer();
    boost::asio::awaitable<void> finish();

    void send(const wire::Message& message);
    // Sends an error frame, then closes once it is written.
    void refuse(std::string_view code, const std::string& message);
    void close_now();
    void apply_now(const std::shared_ptr<const ClusterSnapshot>& snapshot);
    void set_held(const Assignment& held);
    std::string who() const;  // log prefix

    std::shared_ptr<SharedState> state_;
    boost::asio::any_io_executor executor_;
    std::string peer_;
    tls::TlsStream stream_;
    // Declared after the stream they close (destroyed first).
    tls::Deadline read_deadline_;
    tls::Deadline write_deadline_;
    boost::asio::steady_timer writer_wake_;
    wire::FrameDecoder decoder_;
    std::list<std::string> queue_;  // a list: an empty std::deque still allocates
    bool close_after_flush_ = false;
    bool writer_running_ = false;
    bool stopped_ = false;
    bool registered_ = false;
    // Pushes wait until `welcome` is queued: the agent must hear it first.
    bool welcome_sent_ = false;

    std::string name_;  // from the certificate, once hello matched it
    std::string zone_;
    std::string serial_;
    std::int64_t host_id_ = 0;
    std::int64_t hello_generation_ = 0;
    Assignment held_;
    std::map<std::int64_t, std::chrono::steady_clock::time_point> pending_acks_;

    mutable std::mutex status_mutex_;
    AgentStatus status_;
};

}  // namespace agentlb::mgmt
