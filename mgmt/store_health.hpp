#pragma once

// Whether the store answered this server's last read. The cluster watcher
// reads the generation every poll (50 ms on SQLite, the 1 s safety poll on
// PostgreSQL) and records each outcome here; /healthz
// says ok only while the store answers, since a server that cannot read it
// pushes stale lists and cannot see peers go down. Any thread.

#include <spdlog/common.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace agentlb::mgmt {

// No successful read for this long is unhealthy even without an error: the
// store thread is stuck (a read waits at most the 5 s busy timeout, so this
// leaves room for a long queue of store jobs).
inline constexpr std::chrono::seconds kStoreStaleAfter{30};

class StoreHealth {
public:
    using Clock = std::chrono::steady_clock;

    // Healthy from `now` (start-up has just read the store).
    explicit StoreHealth(Clock::time_point now = Clock::now(),
                         Clock::duration stale_after = kStoreStaleAfter);

    // What a failure changed, so that callers log the store going away once
    // (and a new reason quietly) instead of on every poll.
    enum class Failure : std::uint8_t { began, new_reason, same };

    // True when the store was failing until now.
    bool record_success(Clock::time_point now = Clock::now());
    Failure record_failure(const std::string& reason, Clock::time_point now = Clock::now());

    // Nothing while healthy; else why, for a person.
    std::optional<std::string> problem(Clock::time_point now = Clock::now()) const;
    // While problem() says something: for how long the store has not
    // answered (since its last successful read). Nothing while healthy.
    std::optional<Clock::duration> unreachable_for(Clock::time_point now = Clock::now()) const;

private:
    mutable std::mutex mutex_;
    Clock::duration stale_after_;
    Clock::time_point last_success_;
    std::optional<std::string> failure_;
};

// The level for a failed store call: error, but debug while the store is
// known to be away, which the watcher logged once (an outage would otherwise
// log every heartbeat, check, record and renewal).
inline spdlog::level::level_enum store_failure_level(const StoreHealth& health) {
    return health.problem() ? spdlog::level::debug : spdlog::level::err;
}

}  // namespace agentlb::mgmt
