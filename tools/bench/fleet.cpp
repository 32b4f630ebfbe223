#include "tools/bench/fleet.hpp"

#include "tools/bench/ticket_keeper.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace agentlb::bench {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// How often the hosts' streams look for resends due (after 1 s without an
// ack) and expired answers: one pass over the fleet, instead of a timer per
// host re-armed at every message.
constexpr auto kAppTick = std::chrono::milliseconds(50);

// Agents per source address: well under the ~28,000 ephemeral ports of one
// (source, destination) pair, with room for reconnections in TIME_WAIT.
constexpr std::size_t kAgentsPerSourceAddress = 8000;

asio::awaitable<void> sleep_for(asio::io_context& io, std::chrono::steady_clock::duration d) {
    asio::steady_timer timer(io, d);
    error_code ignored;
    auto token = asio::redirect_error(asio::use_awaitable, ignored);
    co_await timer.async_wait(token);
}

}  // namespace

std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

Fleet::Fleet(asio::io_context& io, SSL_CTX* ctx, std::vector<ServerTarget> servers)
    : io_(io), ctx_(ctx), servers_(std::move(servers)) {
    install_ticket_keeper(ctx_);
}

void Fleet::enable_app(HostAppSettings settings) {
    app_ = std::move(settings);
    asio::co_spawn(io_, app_ticker(), asio::detached);
}

asio::awaitable<void> Fleet::app_ticker() {
    while (!stopping_) {
        co_await sleep_for(io_, kAppTick);
        const auto now = std::chrono::steady_clock::now();
        for (auto& agent : agents_) {
            agent->app_tick(now);
        }
    }
}

HostAppCounts Fleet::app_counts() const {
    HostAppCounts sum;
    for (const auto& agent : agents_) {
        if (const auto* app = agent->app()) {
            sum.add(app->counts());
        }
    }
    return sum;
}

std::size_t Fleet::app_held() const {
    std::size_t held = 0;
    for (const auto& agent : agents_) {
        if (const auto* app = agent->app()) {
            held += app->held();
        }
    }
    return held;
}

void Fleet::add(std::unique_ptr<SimAgent> agent) {
    agents_.push_back(std::move(agent));
}

int Fleet::server_index(const std::string& address) const {
    for (std::size_t i = 0; i < servers_.size(); ++i) {
        if (servers_[i].address == address) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

asio::ip::address_v4 Fleet::source_address(std::size_t global_index) const {
    // 127.1.x.y: anything in 127.0.0.0/8 is local, and 127.0.0.1 stays free.
    const auto k = static_cast<std::uint32_t>(1 + global_index / kAgentsPerSourceAddress);
    return asio::ip::address_v4((127U << 24) | (1U << 16) | (k & 0xffffU));
}

void Fleet::on_attempt(const Attempt& attempt) {
    ConnectStats* stats = attempt.initial && phase_ != nullptr ? phase_ : &background_;
    if (attempt.initial && attempt.pushed_back) {
        // Not an outcome: the agent dials again after the retry-after, still in flight.
        ++stats->pushed_back;
        return;
    }
    ++stats->attempts;
    if (attempt.offered_ticket) {
        ++stats->offered_ticket;
    }
    if (attempt.pushed_back) {
        ++stats->pushed_back;  // also a failure, "pushed back"
    }
    if (attempt.established) {
        ++stats->established;
        ++(attempt.resumed ? stats->resumed : stats->full);
        stats->last_ns = std::max(stats->last_ns, attempt.welcomed_ns);
        stats->setup_us.push_back((attempt.welcomed_ns - attempt.started_ns) / 1000);
    } else {
        ++stats->failures[attempt.failure];
    }
    if (stats == phase_ && phase_inflight_ > 0) {
        --phase_inflight_;
    }
}

void Fleet::on_lost(SimAgent& /*agent*/) {
    ++steady_.losses;
    ++losses_total_;
}

void Fleet::on_ping() {
    ++steady_.pings;
}

void Fleet::on_pong(std::int64_t rtt_us) {
    ++steady_.pongs;
    steady_.rtt_us.push_back(rtt_us);
}

asio::awaitable<ConnectStats> Fleet::connect(std::vector<SimAgent*> which,
                                             std::vector<int> targets,
                                             double rate,
                                             int inflight,
                                             std::chrono::steady_clock::time_point deadline) {
    ConnectStats stats;
    stats.started_ns = steady_ns();
    phase_ = &stats;
    phase_inflight_ = 0;
    const auto start = std::chrono::steady_clock::now();
    const std::size_t max_inflight = inflight < 1 ? 1 : static_cast<std::size_t>(inflight);
    std::size_t launched = 0;
    while (stats.attempts < which.size() && std::chrono::steady_clock::now() < deadline) {
        // Launch whatever the rate and the in-flight bound allow now.
        std::size_t allowed = which.size();
        if (rate > 0) {
            const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
            allowed = std::min(which.size(), static_cast<std::size_t>(elapsed.count() * rate) + 1);
        }
        while (launched < allowed && phase_inflight_ < max_inflight) {
            SimAgent* agent = which[launched];
            const int target = targets[launched];
            ++launched;
            if (agent->running()) {
                // Still connected from an earlier phase: not a new session.
                ++stats.attempts;
                ++stats.failures["already connected"];
                continue;
            }
            ++phase_inflight_;
            asio::co_spawn(io_, agent->live(target), asio::detached);
        }
        co_await sleep_for(io_, std::chrono::milliseconds(1));
    }
    phase_ = nullptr;
    if (stats.attempts < which.size()) {
        stats.failures["timeout"] += which.size() - stats.attempts;
    }
    co_return stats;
}

void Fleet::stop() {
    stopping_ = true;
    for (auto& agent : agents_) {
        agent->park();
    }
}

void Fleet::reset_push_tracking() {
    for (auto& agent : agents_) {
        agent->push_ns = 0;
    }
}

void Fleet::reset_loss_tracking() {
    for (auto& agent : agents_) {
        agent->lost_ns = 0;
        agent->back_ns = 0;
        agent->back_resumed = false;
    }
    background_ = ConnectStats{};
    background_.started_ns = steady_ns();
}

void Fleet::reset_steady() {
    steady_ = SteadyStats{};
}

}  // namespace agentlb::bench
