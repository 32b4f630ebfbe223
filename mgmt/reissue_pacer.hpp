#pragma once

// Carries out `agentlbctl ca rotate --reissue-all` on this server: sends
// `reissue` to each of its agents whose certificate the previous CA issued,
// at the request's rate (agents a second). Each agent then renews over its
// session and gets a certificate of the active CA. The cluster watcher hands
// it the requests it reads (ids after the last one seen at start).

#include "mgmt/awaitable.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <memory>

namespace agentlb::mgmt {

class SharedState;

class ReissuePacer : public std::enable_shared_from_this<ReissuePacer> {
public:
    ReissuePacer(boost::asio::io_context& context, std::shared_ptr<SharedState> state);

    // On the context's thread: starts a round at `rate` (a round in progress
    // goes on at the newer rate and goes over the agents again).
    void request(std::int64_t rate);
    void stop();  // any thread

private:
    boost::asio::awaitable<void> run();

    boost::asio::io_context& context_;
    std::shared_ptr<SharedState> state_;
    boost::asio::steady_timer timer_;
    std::int64_t rate_ = 1;
    bool pending_ = false;
    bool running_ = false;
    bool stopped_ = false;
};

}  // namespace agentlb::mgmt
