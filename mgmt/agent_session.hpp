#pragma once

// One agent connection on the agent port (8250).
//
// Until `welcome`, run() (a coroutine) does the TLS handshake, waits for
// `hello`, checks the agent's identity and answers. From then on the session
// holds no coroutine while it waits, because what an idle session costs is
// multiplied by 100,000: it waits for readability with a plain
// socket.async_wait (whose handler keeps it alive), then reads, decodes and
// answers every frame synchronously. Frames are written at once; only a full
// socket arms a write wait. A store call (renewal, disconnect) runs as a
// short-lived coroutine.
//
// One watchdog timer per session, re-armed only when it fires, enforces every
// timeout: handshake and hello each --handshake-timeout (10 s); then a frame
// at least every heartbeat_interval * kMissedHeartbeatsBeforeDead (30 s); a
// blocked write completes within the same span. A push not acked within that
// span is given up (counted, not a reason to close).
//
// Each session is bound to one io_context (one thread, see io_pool.hpp) and
// its members are touched only there. The members /v1/status shows are
// written under status_mutex_ so that status() may run on any thread.

#include "common/tls/stream.hpp"
#include "common/wire/frame.hpp"
#include "common/wire/messages.hpp"
#include "mgmt/awaitable.hpp"
#include "mgmt/cluster_state.hpp"

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
    // A newer session of this host is recorded on server `by`: sends a
    // `superseded` error and closes. Any thread.
    void close_superseded(std::string by);
    // Has each session recompute its agent's list and push it when it
    // changed: one handler per I/O thread rather than one per session, since
    // a change reaches every agent at once. Any thread.
    static void apply_to_all(std::vector<std::shared_ptr<AgentSession>> sessions,
                             const std::shared_ptr<const ClusterSnapshot>& snapshot);

    AgentStatus status() const;

private:
    using Clock = std::chrono::steady_clock;

    struct ReadResult {
        std::optional<wire::Message> message;
        std::string reason;    // why nothing was read (for the log)
        bool routine = false;  // a normal close, logged at debug
    };

    // Before welcome (agent_session.cpp).
    boost::asio::awaitable<void> run();
    boost::asio::awaitable<bool> handshake();
    boost::asio::awaitable<bool> accept_hello(const wire::Hello& hello);
    boost::asio::awaitable<ReadResult> read_message();
    ReadResult read_failure(const boost::system::error_code& ec) const;
    // Unregisters and clears "connected to" in the store; runs once.
    void end_session();
    boost::asio::awaitable<void> forget_connection();

    // After welcome (agent_session_io.cpp).
    // Handles the frames already decoded, then reads; `readable`: the socket
    // was just reported readable (else it is waited for first).
    void read_available(bool readable);
    void wait_readable(boost::asio::ip::tcp::socket::wait_type want);
    void stop_reading(const ReadResult& why);
    bool handle(const wire::Message& message);
    boost::asio::awaitable<void> renew(std::string csr);
    void send(const wire::Message& message);
    void flush();
    // Sends an error frame, then closes once it is written.
    void refuse(std::string_view code, const std::string& message);
    void close_now();
    // When the session is closed for silence or a blocked write.
    Clock::time_point close_deadline() const;
    // The next time the watchdog has work: close_deadline() or the oldest
    // push's ack deadline.
    Clock::time_point deadline() const;
    void arm_watchdog();
    void tighten_watchdog();
    void on_watchdog();

    // Pushes (agent_session_push.cpp).
    void apply_now(const std::shared_ptr<const ClusterSnapshot>& snapshot);
    void on_ack(std::int64_t seq);
    // Stops waiting for the acks of pushes with a seq below `below_seq` or
    // sent at or before `sent_before`: the agent will not send them.
    void give_up_pushes(std::int64_t below_seq, Clock::time_point sent_before, std::string_view why);
    void set_held(const Assignment& held);

    // One read buffer per I/O thread, so that an idle session holds none:
    // reads fill it without suspending (a session never leaves its thread).
    static char* thread_read_buffer(std::size_t& size);
    std::string who() const;  // log prefix
    Clock::duration idle_limit() const;

    std::shared_ptr<SharedState> state_;
    std::string peer_;
    tls::TlsStream stream_;
    boost::asio::steady_timer watchdog_;
    wire::FrameDecoder decoder_;
    std::list<std::string> queue_;  // a list: an empty std::deque still allocates

    // Deadlines the watchdog enforces (see deadline()).
    Clock::time_point phase_deadline_ = Clock::time_point::max();
    Clock::time_point last_frame_{};
    Clock::time_point write_blocked_since_{};

    bool idle_reading_ = false;  // past welcome: reading through wait_readable()
    bool renewing_ = false;      // reading pauses while a renewal is in the store
    bool write_blocked_ = false;
    bool close_after_flush_ = false;
    bool stopped_ = false;
    bool timed_out_ = false;
    bool ended_ = false;
    bool registered_ = false;
    // Pushes wait until `welcome` is queued: the agent must hear it first.
    bool welcome_sent_ = false;

    std::string serial_;
    std::int64_t hello_generation_ = 0;
    // Pushes awaiting their ack, by seq; seqs grow, so the first is the oldest.
    std::map<std::int64_t, Clock::time_point> pending_acks_;

    // Shown by status(); written under the mutex, read freely on this thread.
    mutable std::mutex status_mutex_;
    std::string name_;  // from the certificate, once hello matched it
    std::string zone_;
    std::int64_t host_id_ = 0;
    Assignment held_;
    std::int64_t connected_since_ = 0;
};

}  // namespace agentlb::mgmt
