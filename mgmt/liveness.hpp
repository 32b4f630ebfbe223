#pragma once

// This server's heartbeat and its judgement of its peers.
//
// Every --server-heartbeat-interval (2 s) it writes its heartbeat and agent
// count (no generation bump). Every second it lists the servers: a peer whose
// heartbeat is older than kMissedHeartbeatsBeforeDead intervals and still
// says "up" is marked "down" (which bumps the generation, so every server
// recomputes and the peer's address goes on agents' avoid lists); if another
// server marked this one down while it was stalled, it marks itself up again.

#include "mgmt/awaitable.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>

namespace agentlb::mgmt {

class SharedState;

class Liveness : public std::enable_shared_from_this<Liveness> {
public:
    Liveness(boost::asio::io_context& context, std::shared_ptr<SharedState> state);

    void start();
    void stop();  // any thread

private:
    boost::asio::awaitable<void> heartbeat_loop();
    boost::asio::awaitable<void> check_loop();

    boost::asio::io_context& context_;
    std::shared_ptr<SharedState> state_;
    boost::asio::steady_timer heartbeat_timer_;
    boost::asio::steady_timer check_timer_;
    bool stopped_ = false;
};

}  // namespace agentlb::mgmt
