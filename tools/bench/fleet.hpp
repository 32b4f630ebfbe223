#pragma once

// The simulated agents of one worker process and the measurements taken on
// them: connection phases at a bounded rate, and the trackers the scenarios
// read (pushes, losses and returns, ping round trips). Each agent pings on
// its own, every heartbeat interval its welcome names (AgentMachine).
//
// One io_context, one thread: a worker holds at most what one process's
// descriptor limit allows (~20,000 here), so 100,000 agents take several
// workers, each with its own Fleet.

#include "tools/bench/sim_agent.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <openssl/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::bench {

struct ServerTarget {
    std::string name;
    std::string address;  // "127.0.0.1:PORT", as in the `host` key
    boost::asio::ip::tcp::endpoint endpoint;
};

struct ConnectStats {
    std::int64_t started_ns = 0;
    std::int64_t last_ns = 0;  // last welcome
    std::size_t attempts = 0;
    std::size_t established = 0;
    std::size_t full = 0;
    std::size_t resumed = 0;
    std::size_t offered_ticket = 0;  // attempts that offered a ticket
    std::size_t pushed_back = 0;     // attempts a server pushed back (also a failure)
    std::map<std::string, std::size_t> failures;
    std::vector<std::int64_t> setup_us;  // connect() to welcome, per established agent
};

struct SteadyStats {
    std::size_t pings = 0;
    std::size_t pongs = 0;
    std::size_t losses = 0;
    std::vector<std::int64_t> rtt_us;
};

std::int64_t steady_ns();

class Fleet {
public:
    Fleet(boost::asio::io_context& io, SSL_CTX* ctx, std::vector<ServerTarget> servers);

    // The agents added from now on are hosts of the platform's own messages
    // (messages scenario), and a ticker drives their resends until stop().
    void enable_app(HostAppSettings settings);
    const HostAppSettings* app_settings() const { return app_ ? &*app_ : nullptr; }
    // Summed over the agents, and answers they still hold.
    HostAppCounts app_counts() const;
    std::size_t app_held() const;

    // Takes ownership; agents keep their index for their source address.
    void add(std::unique_ptr<SimAgent> agent);
    std::vector<std::unique_ptr<SimAgent>>& agents() { return agents_; }

    // Starts live(target) for each agent in `which` (targets[i] for which[i])
    // at most `rate` per second (0: no limit) with at most `inflight` still
    // setting up, and returns once each has been welcomed or has failed, or at
    // `deadline` (the rest count as failure "timeout").
    boost::asio::awaitable<ConnectStats> connect(std::vector<SimAgent*> which,
                                                 std::vector<int> targets,
                                                 double rate,
                                                 int inflight,
                                                 std::chrono::steady_clock::time_point deadline);

    void stop();
    bool stopping() const { return stopping_; }

    void reset_push_tracking();
    // Also resets the counts of reconnections outside a phase.
    void reset_loss_tracking();
    // Reconnection attempts outside a connect phase since the last reset.
    const ConnectStats& background() const { return background_; }
    // Tickets the servers sent since the worker started.
    std::size_t tickets_received() const { return tickets_received_; }
    void reset_steady();
    const SteadyStats& steady() const { return steady_; }
    // Sessions lost since the worker started (reconnected or not).
    std::size_t losses_total() const { return losses_total_; }

    // Used by the agents.
    boost::asio::io_context& io() { return io_; }
    SSL_CTX* ssl_context() const { return ctx_; }
    const std::vector<ServerTarget>& servers() const { return servers_; }
    int server_index(const std::string& address) const;
    boost::asio::ip::address_v4 source_address(std::size_t global_index) const;
    void on_attempt(const Attempt& attempt);
    void on_lost(SimAgent& agent);
    void on_ticket() { ++tickets_received_; }
    void on_ping();
    void on_pong(std::int64_t rtt_us);

private:
    boost::asio::awaitable<void> app_ticker();

    boost::asio::io_context& io_;
    SSL_CTX* ctx_;
    std::vector<ServerTarget> servers_;
    std::vector<std::unique_ptr<SimAgent>> agents_;
    ConnectStats* phase_ = nullptr;  // the connect() running, if any
    std::size_t phase_inflight_ = 0;
    ConnectStats background_;  // reconnections outside a phase
    SteadyStats steady_;
    std::size_t losses_total_ = 0;
    std::size_t tickets_received_ = 0;
    bool stopping_ = false;
    std::optional<HostAppSettings> app_;
};

}  // namespace agentlb::bench
