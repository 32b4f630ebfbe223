#pragma once

// Takes a sample of agents per server every --history-sample-ms (hidden,
// default kHistorySamplePeriod) into SharedState::history, and records a
// peer's state change between two samples in SharedState::events. This
// server's count is its own sessions; a peer's is what its last heartbeat
// wrote (0 while it is down: its row keeps the last count).

#include "mgmt/agent_history.hpp"
#include "mgmt/awaitable.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>

namespace agentlb::mgmt {

class SharedState;

// A sample of the cluster as `state` sees it now.
HistorySample take_sample(SharedState& state, std::int64_t time_ms);

class HistorySampler : public std::enable_shared_from_this<HistorySampler> {
public:
    HistorySampler(boost::asio::io_context& context, std::shared_ptr<SharedState> state);

    void start();
    void stop();  // any thread

private:
    boost::asio::awaitable<void> loop();
    void tick();

    boost::asio::io_context& context_;
    std::shared_ptr<SharedState> state_;
    boost::asio::steady_timer timer_;
    bool stopped_ = false;
    std::optional<HistorySample> last_;
};

}  // namespace agentlb::mgmt
