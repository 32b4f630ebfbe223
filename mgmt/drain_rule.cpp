#include "mgmt/drain_rule.hpp"

namespace agentlb::mgmt {

namespace {

std::optional<DrainRule::Clock::time_point> limit(DrainRule::Clock::time_point from, std::int64_t seconds) {
    if (seconds <= 0) {
        return std::nullopt;
    }
    return from + std::chrono::seconds(seconds);
}

}  // namespace

void DrainRule::begin_shutdown(Clock::time_point now, std::int64_t timeout_seconds) {
    if (shutdown_) {
        return;
    }
    shutdown_ = true;
    shutdown_at_ = now;
    shutdown_timeout_ = timeout_seconds;
}

DrainRule::Step DrainRule::judge(bool maintenance,
                                 std::size_t agents,
                                 Clock::time_point now,
                                 std::int64_t timeout_seconds) {
    if (shutdown_ && !shutdown_started_) {
        shutdown_started_ = true;
        why_ = Why::shutdown;
        since_ = shutdown_at_;
        deadline_ = limit(shutdown_at_, shutdown_timeout_);
        if (phase_ == Phase::drained) {
            // Already in maintenance: nothing left to move.
            return Step::drained;
        }
        phase_ = Phase::draining;
        return Step::start;
    }
    if (!shutdown_) {
        if (phase_ == Phase::serving) {
            if (!maintenance) {
                return Step::none;
            }
            why_ = Why::maintenance;
            phase_ = Phase::draining;
            since_ = now;
            deadline_ = limit(now, timeout_seconds);
            return Step::start;
        }
        if (!maintenance) {
            why_ = Why::none;
            phase_ = Phase::serving;
            deadline_.reset();
            return Step::cancel;
        }
        if (phase_ == Phase::draining) {
            // A changed agentlb.maintenance.timeout applies to the drain in progress.
            deadline_ = limit(since_, timeout_seconds);
        }
    }
    if (phase_ != Phase::draining) {
        return Step::none;
    }
    if (agents == 0) {
        phase_ = Phase::drained;
        return Step::drained;
    }
    if (deadline_ && now >= *deadline_) {
        phase_ = Phase::drained;
        return Step::timed_out;
    }
    return Step::none;
}

std::string_view why_text(DrainRule::Why why) noexcept {
    switch (why) {
        case DrainRule::Why::none:
            return "none";
        case DrainRule::Why::maintenance:
            return "maintenance";
        case DrainRule::Why::shutdown:
            return "shutdown";
    }
    return "none";
}

}  // namespace agentlb::mgmt
