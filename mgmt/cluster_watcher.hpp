#pragma once

// Follows the store's generation counter (polled every kGenerationPoll;
// heartbeats do not bump it) and, on every change, reloads the snapshot
// (configuration, hosts by zone and by name, servers, revoked serials) and has every
// open agent session recompute its list.

#include "mgmt/awaitable.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>

namespace agentlb::mgmt {

class SharedState;
struct ClusterSnapshot;

// One indexed read of one row per poll: cheap enough to keep the change
// detection a small part of the 1 s propagation budget.
inline constexpr std::chrono::milliseconds kGenerationPoll{50};

class ClusterWatcher : public std::enable_shared_from_this<ClusterWatcher> {
public:
    ClusterWatcher(boost::asio::io_context& context, std::shared_ptr<SharedState> state);

    // The first snapshot, before any listener accepts. Blocking (start-up
    // thread); throws what the store throws.
    void load_initial();
    void start();
    void stop();  // any thread

    // What one reload read from the store (defined in the .cpp).
    struct Loaded;

private:
    boost::asio::awaitable<void> poll_loop();
    void install(Loaded loaded);

    boost::asio::io_context& context_;
    std::shared_ptr<SharedState> state_;
    boost::asio::steady_timer timer_;
    bool stopped_ = false;
    std::int64_t generation_ = -1;
    std::int64_t refused_generation_ = -1;
    std::int64_t refused_limit_generation_ = -1;
};

}  // namespace agentlb::mgmt
