#pragma once

// The pure rule of a server's drain (mgmt/drain.hpp does the I/O): whether
// this server drains, and when a drain is done or has run out of time. No
// I/O, no clock of its own: unit-tested with any time.
//
// A server drains while an operator asked for its maintenance (its own row's
// `maintenance` flag in the snapshot) or after the first SIGTERM/SIGINT. A
// drain is done when the server holds no agent, or when its timeout passes
// (agentlb.maintenance.timeout, or agentlb.shutdown.timeout from the signal
// on; 0 = no limit). A maintenance drain that is done stays done (the server
// is in `maintenance` and keeps refusing agents) until the operator cancels
// it; a cancel while draining stops the drain at once. A shutdown is never
// cancelled.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace agentlb::mgmt {

class DrainRule {
public:
    using Clock = std::chrono::steady_clock;

    enum class Why : std::uint8_t { none, maintenance, shutdown };
    enum class Phase : std::uint8_t {
        serving,   // takes agents
        draining,  // refuses agents, moves its own away
        drained,   // refuses agents, holds none (or its time ran out)
    };
    // What changed at a judge() call; at most one per call.
    enum class Step : std::uint8_t {
        none,
        start,      // a drain began (why())
        cancel,     // the maintenance request was withdrawn: serve again
        drained,    // the server holds no agent
        timed_out,  // the timeout passed with agents left
    };

    // `maintenance`: this server's own row asks for maintenance; `agents`:
    // sessions it holds; `timeout_seconds`: the snapshot's
    // agentlb.maintenance.timeout (a shutdown uses the one given to
    // begin_shutdown).
    Step judge(bool maintenance, std::size_t agents, Clock::time_point now, std::int64_t timeout_seconds);

    // The first SIGTERM/SIGINT: the next judge() starts (or turns the
    // current drain into) a shutdown drain limited to `timeout_seconds`
    // from `now`. A server already drained stays drained.
    void begin_shutdown(Clock::time_point now, std::int64_t timeout_seconds);

    Why why() const noexcept { return why_; }
    Phase phase() const noexcept { return phase_; }
    // Hellos are refused `draining`.
    bool refusing() const noexcept { return phase_ != Phase::serving; }
    // When the current drain ends by its timeout; nothing without a limit.
    std::optional<Clock::time_point> deadline() const noexcept { return deadline_; }
    // When the current drain (or shutdown) began.
    Clock::time_point since() const noexcept { return since_; }

private:
    Why why_ = Why::none;
    Phase phase_ = Phase::serving;
    bool shutdown_ = false;
    bool shutdown_started_ = false;  // the shutdown drain was reported (Step::start)
    std::int64_t shutdown_timeout_ = 0;
    Clock::time_point shutdown_at_{};
    Clock::time_point since_{};
    std::optional<Clock::time_point> deadline_;
};

std::string_view why_text(DrainRule::Why why) noexcept;

}  // namespace agentlb::mgmt
