#pragma once

// Paces the `migrate` messages a server sends (a drain, a rebalance, a store
// outage), so that thousands of agents do not all reconnect elsewhere in one
// burst onto the other servers' TLS handshakes and store. Pure: no I/O, no
// clock of its own (tests use any Item and any time).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace agentlb::mgmt {

// How often a pacing loop runs and sends its next batch.
inline constexpr std::chrono::milliseconds kMigrationTick{100};
// An agent still here this long after its `migrate` (nothing else answered
// it) is asked again.
inline constexpr std::chrono::seconds kMigrateAgainAfter{30};

// How many messages one tick may send at `per_second`; the fraction left
// over carries to the next tick, so 5 a second is one every other tick.
class TickBudget {
public:
    std::size_t take(std::int64_t per_second, std::chrono::milliseconds tick = kMigrationTick) {
        carry_ += static_cast<double>(per_second) * static_cast<double>(tick.count()) / 1000.0;
        const auto whole = static_cast<std::size_t>(carry_);
        carry_ -= static_cast<double>(whole);
        return whole;
    }
    void reset() { carry_ = 0; }

private:
    double carry_ = 0;
};

// Which items are sent `migrate` at each tick: `budget` at most, in rounds
// over what the source gives when a round begins; the next round begins
// kMigrateAgainAfter after one ends.
template <class Item>
class MigrationPacer {
public:
    using Clock = std::chrono::steady_clock;

    // A first round at the next tick.
    void restart(Clock::time_point now) {
        pending_.clear();
        next_round_ = now;
    }

    // `source()` gives the items of a new round.
    template <class Source>
    std::vector<Item> next(Clock::time_point now, std::size_t budget, Source&& source) {
        if (pending_.empty()) {
            if (now < next_round_) {
                return {};
            }
            pending_ = source();
        }
        std::vector<Item> batch;
        while (batch.size() < budget && !pending_.empty()) {
            batch.push_back(std::move(pending_.back()));
            pending_.pop_back();
        }
        if (pending_.empty()) {
            next_round_ = now + kMigrateAgainAfter;
        }
        return batch;
    }

    // Items of the current round not sent yet.
    std::size_t pending() const noexcept { return pending_.size(); }

private:
    std::vector<Item> pending_;
    Clock::time_point next_round_{};
};

}  // namespace agentlb::mgmt
