#pragma once

// The I/O of a server's drain (the rules are DrainRule's): every
// kMigrationTick it reads its own row in the snapshot (an operator's
// maintenance request) and its session count, and
// - while draining, has hellos refused `draining` (SharedState::drain_why,
//   read by AgentSession) and sends its sessions `migrate` (avoiding this
//   server), paced by agentlb.drain.rate; an agent still here
//   kMigrateAgainAfter later is asked again;
// - once it holds no agent, or when the timeout passes, reaches
//   `maintenance` (the store's compare_and_set_server_state(preparing ->
//   maintenance)); a timed-out maintenance drain first ends the remaining
//   sessions with an `error` (draining) naming why;
// - on a cancel (the request withdrawn) takes agents again at once.
// A shutdown drain (begin_shutdown, from the first SIGTERM/SIGINT) runs the
// same way with agentlb.shutdown.timeout and hands over to the shutdown
// when done or out of time. Each change is logged once.

#include "mgmt/awaitable.hpp"
#include "mgmt/drain_rule.hpp"
#include "mgmt/migration_pacer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace agentlb::mgmt {

class AgentSession;
class SharedState;

class Drain : public std::enable_shared_from_this<Drain> {
public:
    using Clock = DrainRule::Clock;
    // Called once, on the drain's context, when a shutdown drain is over;
    // `timed_out`: agents were left when agentlb.shutdown.timeout passed.
    using ShutdownDone = std::function<void(bool timed_out)>;

    Drain(boost::asio::io_context& context, std::shared_ptr<SharedState> state);

    void start();
    void stop();  // any thread

    // The first SIGTERM/SIGINT (on the drain's context): drain for at most
    // `timeout_seconds`, then `done`.
    void begin_shutdown(std::int64_t timeout_seconds, ShutdownDone done);

    // The refusal a hello gets while this server drains for `why`.
    static std::string refusal_text(const std::string& server, DrainRule::Why why);
    // The reason of the `migrate` its sessions are sent.
    static std::string migrate_reason(const std::string& server, DrainRule::Why why);

private:
    boost::asio::awaitable<void> loop();
    void tick(Clock::time_point now);
    void on_step(DrainRule::Step step, Clock::time_point now);
    void migrate_some(Clock::time_point now);
    // Ends every remaining session with an `error` naming the timeout.
    void end_sessions(std::int64_t timeout_seconds);
    // preparing -> maintenance in the store (a maintenance drain that is over).
    void reach_maintenance();
    void finish_shutdown(bool timed_out);

    boost::asio::io_context& context_;
    std::shared_ptr<SharedState> state_;
    boost::asio::steady_timer timer_;
    bool stopped_ = false;
    DrainRule rule_;
    MigrationPacer<std::shared_ptr<AgentSession>> pacer_;
    TickBudget budget_;
    ShutdownDone shutdown_done_;
    std::int64_t shutdown_timeout_ = 0;
    bool state_write_pending_ = false;
    bool state_write_failed_ = false;  // the last write failed (logged once)
    Clock::time_point next_state_write_{};
};

}  // namespace agentlb::mgmt
