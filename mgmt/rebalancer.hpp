#pragma once

// Carries out `agentlbctl rebalance` and `mgmt cancel-maintenance --rebalance`
// on this server: each request (a row of the store's `rebalances` table)
// sends `migrate` to those of this server's agents that the rebalance rule
// (common/lb/rebalance.hpp) moves, paced at agentlb.drain.rate. The agent
// then relocates make-before-break to the first entry of its list that is
// not avoided, which is where the rule says it belongs.
//
// Requests are read through the store worker, only when the snapshot's
// generation changed (a request bumps it), and acted on once the snapshot is
// at least as new as the read: the servers' states the rule judges by are
// then those the operator's command left (cancel-maintenance writes the
// state before it records its request). Requests made before this server
// started are never acted on. While this server is itself not available
// (draining, in maintenance, marked down) it acts on none: the drain moves
// its agents. Each agent is asked once per request; one that stays (its
// destination refused it) is not asked again.

#include "common/store/store.hpp"
#include "mgmt/awaitable.hpp"
#include "mgmt/migration_pacer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::mgmt {

class AgentSession;
class SharedState;
struct ClusterSnapshot;

// While the store cannot be read, the requests are read again this often.
inline constexpr std::chrono::seconds kRebalanceRetry{1};

class Rebalancer : public std::enable_shared_from_this<Rebalancer> {
public:
    using Clock = std::chrono::steady_clock;

    Rebalancer(boost::asio::io_context& context, std::shared_ptr<SharedState> state);

    // Remembers the newest request already made. Blocking (start-up thread,
    // before start()); throws what the store throws.
    void load_initial();
    void start();
    void stop();  // any thread

private:
    struct Item {
        std::weak_ptr<AgentSession> session;
        std::optional<std::string> target;  // the request's target server's address
        std::int64_t request = 0;
    };
    struct Read {
        std::vector<store::RebalanceRequest> requests;
        std::int64_t generation = 0;  // read after the requests
    };

    boost::asio::awaitable<void> loop();
    boost::asio::awaitable<void> read_requests(Clock::time_point now);
    void queue(const store::RebalanceRequest& request, const ClusterSnapshot& snapshot);
    void send_some();

    boost::asio::io_context& context_;
    std::shared_ptr<SharedState> state_;
    boost::asio::steady_timer timer_;
    bool stopped_ = false;
    std::int64_t last_id_ = 0;
    std::int64_t read_generation_ = -1;  // the snapshot generation the last read followed
    Clock::time_point retry_at_{};
    bool read_failing_ = false;
    std::vector<store::RebalanceRequest> waiting_;  // read, waiting for the snapshot to catch up
    std::int64_t waiting_generation_ = 0;
    std::deque<Item> pending_;
    TickBudget budget_;
};

}  // namespace agentlb::mgmt
