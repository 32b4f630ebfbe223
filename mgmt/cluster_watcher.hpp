#pragma once

// Follows the store's generation counter (heartbeats do not bump it) and, on
// every change, reloads the snapshot (configuration, hosts by zone and by
// name, servers, revoked serials) and has every open agent session recompute its
// list. It reads the generation every poll period, and at once when woken: a
// store with change notification (PostgreSQL) wakes it through a
// ChangeListener, so its poll is only a slow safety net.

#include "mgmt/awaitable.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace agentlb::mgmt {

class ReissuePacer;
class SharedState;
struct ClusterSnapshot;

// SQLite has no notifications. One indexed read of one row per poll: cheap
// enough to keep the change detection a small part of the 1 s propagation budget.
inline constexpr std::chrono::milliseconds kGenerationPoll{50};

// With change notification a change arrives by wake(); the poll stays for
// what notification cannot give: a change announced while the feed was
// reconnecting is lost (NOTIFY is not queued for a listener that is not
// there), and a read that fails or succeeds is what refreshes StoreHealth
// (/healthz). One read per second per server keeps both well inside the
// store's stale limit (kStoreStaleAfter) at no cost to the database.
inline constexpr std::chrono::milliseconds kSafetyPoll{1000};

class ClusterWatcher : public std::enable_shared_from_this<ClusterWatcher> {
public:
    ClusterWatcher(boost::asio::io_context& context,
                   std::shared_ptr<SharedState> state,
                   std::chrono::milliseconds poll_period = kGenerationPoll);

    // The first snapshot, before any listener accepts. Blocking (start-up
    // thread); throws what the store throws.
    void load_initial();
    void start();
    void stop();  // any thread
    // Reads the generation now instead of at the end of the poll period; a
    // wake during a read makes another read follow it. Any thread.
    void wake();

    // What one reload read from the store (defined in the .cpp).
    struct Loaded;

private:
    boost::asio::awaitable<void> poll_loop();
    void install(Loaded loaded);
    // The trusted CAs of a reload (CA rotation): a new CA set, new TLS
    // contexts and `trust` to every session when it changed.
    void apply_cas(const Loaded& loaded);

    boost::asio::io_context& context_;
    std::shared_ptr<SharedState> state_;
    boost::asio::steady_timer timer_;
    std::chrono::milliseconds poll_period_;
    bool stopped_ = false;
    bool wake_pending_ = false;
    std::int64_t generation_ = -1;
    std::int64_t refused_generation_ = -1;
    std::int64_t refused_server_key_generation_ = -1;
    std::int64_t refused_place_generation_ = -1;
    std::int64_t refused_ca_generation_ = -1;
    // The newest reissue request seen (those made before start are not acted on).
    std::int64_t last_reissue_id_ = 0;
    std::shared_ptr<ReissuePacer> reissue_;
    // This server's state last told to the --hook runner (own_state_hook_event).
    std::string hook_state_;
};

}  // namespace agentlb::mgmt
