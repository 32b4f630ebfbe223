#pragma once

// This server's heartbeat and its judgement of its peers.
//
// Every --server-heartbeat-interval (2 s) it writes its heartbeat and agent
// count (no generation bump). Every second it lists the servers. A peer is
// judged by this server's own successful heartbeats, not by the wall clock:
// it is marked "down" (bumping the generation, so every server recomputes
// and the peer's address goes on agents' avoid lists) once its heartbeat
// has not changed while this server wrote more than
// kMissedHeartbeatsBeforeDead of its own, and is also that many intervals
// older than this server's last one in the store. A stalled store stalls
// every server's heartbeat alike, so nobody is judged for it.
//
// A server never marks itself down. Finding its row marked down or deleted,
// it puts it back up without touching its hosts' records and names itself
// again in the records of the hosts it still holds (the server that marked
// it down cleared them).
//
// It also closes this server's sessions that a newer session of the same
// host on another server superseded: after a grace period (a make-before-
// break switch closes the old session itself), and only if the store still
// names the other server.

#include "mgmt/awaitable.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace agentlb::store {
class Store;
}

namespace agentlb::mgmt {

class SharedState;

class Liveness : public std::enable_shared_from_this<Liveness> {
public:
    Liveness(boost::asio::io_context& context, std::shared_ptr<SharedState> state);

    void start();
    void stop();  // any thread

    // How long a superseded session is left open before it is closed.
    std::chrono::steady_clock::duration supersede_grace() const;

private:
    struct PeerSeen {
        std::int64_t heartbeat = 0;
        std::int64_t own_beats = 0;  // this server's beats_ when `heartbeat` was first seen
    };
    struct CheckOutcome;

    boost::asio::awaitable<void> heartbeat_loop();
    boost::asio::awaitable<void> check_loop();
    // On the store thread.
    CheckOutcome check(store::Store& store);
    void recheck_records(store::Store& store);
    void supersede_later(std::int64_t host_id, std::string by);
    boost::asio::awaitable<void> settle_superseded(std::int64_t host_id, std::string by);

    boost::asio::io_context& context_;
    std::shared_ptr<SharedState> state_;
    boost::asio::steady_timer heartbeat_timer_;
    boost::asio::steady_timer check_timer_;
    bool stopped_ = false;
    // Heartbeats this process wrote successfully.
    std::atomic<std::int64_t> beats_{0};
    // Touched only by check jobs, which run one at a time on the store thread.
    std::map<std::string, PeerSeen> peers_;
};

}  // namespace agentlb::mgmt
