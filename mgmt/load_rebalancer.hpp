#pragma once

// The load-aware rebalancer, live (issue 15): once a second, each server
// judges every zone whose effective agentlb.rebalance.behaviour is not off
// (or whose mode is density, by agentlb.mode or agentlb.mode.schedule) from
// the store's connection records, with the rules of common/lb (load_rule,
// load_tracker, density), and sends `migrate` with `to` = the planned entry
// to those of the planned moves whose agent is on this server, paced at the
// behaviour's rate (density without a behaviour: agentlb.drain.rate).
//
// Every server plans the whole zone from the same store view and moves only
// its own agents: the union of their moves is the zone's plan, and no
// per-agent request between servers is needed. A server that is not up
// (draining, maintenance, marked down) moves nothing: its drain does.
// An agent sent `migrate` is not planned again for kMigrateAgainAfter.

#include "common/lb/load_tracker.hpp"
#include "common/lb/scoped_config.hpp"
#include "mgmt/awaitable.hpp"
#include "mgmt/migration_pacer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

namespace agentlb::mgmt {

class SharedState;

// How often the zones are judged.
inline constexpr std::chrono::seconds kLoadCheckPeriod{1};

class LoadRebalancer : public std::enable_shared_from_this<LoadRebalancer> {
public:
    using Clock = std::chrono::steady_clock;

    LoadRebalancer(boost::asio::io_context& context, std::shared_ptr<SharedState> state);

    void start();
    void stop();  // any thread

private:
    struct Pending {
        std::int64_t host_id = 0;
        std::string to;
        std::string why;
        std::int64_t rate = 1;
    };

    boost::asio::awaitable<void> loop();
    boost::asio::awaitable<void> judge(Clock::time_point now);
    void send_some(Clock::time_point now);

    boost::asio::io_context& context_;
    std::shared_ptr<SharedState> state_;
    boost::asio::steady_timer timer_;
    bool stopped_ = false;
    Clock::time_point next_check_{};
    bool read_failing_ = false;
    lb::ScopedConfig config_;  // read at config_generation_
    bool config_acting_ = false;
    std::int64_t config_generation_ = -2;              // never a snapshot's
    std::map<std::string, lb::LoadTracker> trackers_;  // by zone
    std::map<std::string, std::string> modes_;         // by zone: the mode last logged
    std::deque<Pending> pending_;
    std::map<std::int64_t, Clock::time_point> sent_;  // host id -> when it was sent migrate
    TickBudget budget_;
};

}  // namespace agentlb::mgmt
