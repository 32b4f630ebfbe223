#pragma once

// What this server does once it has lacked its store for longer than
// agentlb.store.unreachable.limit (from the last snapshot): it stops
// serving, so that agents end up on servers that see the shared
// configuration. New hellos are refused `unavailable` (SharedState::serving,
// read by AgentSession) and every agent connected here is sent `migrate`,
// paced (agentlb.drain.rate) so that 10,000 agents do not all reconnect
// elsewhere in one burst; an agent that found nowhere else to go stays and
// is asked again after kMigrateAgainAfter. Sessions are never closed: an
// agent keeps this server while nothing else takes it. Serving resumes as
// soon as the store answers again. Each change is logged once.
//
// Below the limit the server serves from its last snapshot (see
// AgentSession::look_up_in_snapshot); /healthz says 503 throughout.

#include "mgmt/awaitable.hpp"
#include "mgmt/migration_pacer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace agentlb::mgmt {

class AgentSession;
class SharedState;

// How often the server judges its store's absence and sends the next batch.
inline constexpr std::chrono::milliseconds kOutageTick = kMigrationTick;

// The pure rule: when to stop serving and when to serve again.
class ServingJudge {
public:
    using Clock = std::chrono::steady_clock;
    enum class Change : std::uint8_t { none, stop, resume };

    // `unreachable_for`: how long the store has not answered (nothing while
    // it answers); `limit_seconds`: the snapshot's limit, 0 = never stop.
    Change judge(std::optional<Clock::duration> unreachable_for, std::int64_t limit_seconds);
    bool serving() const noexcept { return serving_; }

private:
    bool serving_ = true;
};

class StoreOutage : public std::enable_shared_from_this<StoreOutage> {
public:
    StoreOutage(boost::asio::io_context& context, std::shared_ptr<SharedState> state);

    void start();
    void stop();  // any thread

private:
    boost::asio::awaitable<void> loop();
    void tick(ServingJudge::Clock::time_point now);
    void migrate_some(ServingJudge::Clock::time_point now);

    boost::asio::io_context& context_;
    std::shared_ptr<SharedState> state_;
    boost::asio::steady_timer timer_;
    bool stopped_ = false;
    ServingJudge judge_;
    MigrationPacer<std::shared_ptr<AgentSession>> pacer_;
    TickBudget budget_;
};

}  // namespace agentlb::mgmt
