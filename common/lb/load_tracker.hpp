#pragma once

// When the load-aware rebalancer acts: the hold time and the hysteresis.
//
// A server sheds only after it has been over (assess_load) at every update
// for `hold` without a break. Once it has shed it is disarmed: it sheds
// again only after it has been seen settled (below share * (1 + t/2), or
// less than one whole agent above its share) and then over for a full hold
// again. So:
// - load sitting exactly at the threshold is never over (the test is
//   strict): nothing ever moves;
// - load flapping across the threshold faster than the hold never sheds;
//   slower, it sheds at most once per hold per server, each time at most its
//   excess (which the moves bring to less than one agent above its share);
// - a round that could not bring a server down (its agents' lists offer no
//   server under its share, or agents refused to move) is not retried every
//   hold: the server must settle first. `agentlbctl rebalance` remains the
//   operator's way to force a layout.
// Time is injected (a steady clock: the hold must not jump with the wall clock).

#include "common/lb/load_rule.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::lb {

class LoadTracker {
public:
    using Clock = std::chrono::steady_clock;

    explicit LoadTracker(std::chrono::seconds hold) : hold_(hold) {}

    // Feeds one assessment of the zone (assess_load at the behaviour's
    // threshold) and returns the addresses of the servers that shed now, in
    // the order of `loads`; they are disarmed. A server missing from `loads`
    // is forgotten (it starts armed, with no hold running, if it comes back).
    std::vector<std::string> update(Clock::time_point now, const std::vector<ServerLoad>& loads);

    // Whether `address` (as given in the loads) may shed once its hold has run.
    bool armed(const std::string& address) const;

private:
    struct State {
        std::optional<Clock::time_point> over_since;
        bool armed = true;
    };

    std::chrono::seconds hold_;
    std::map<std::string, State, std::less<>> states_;
};

}  // namespace agentlb::lb
