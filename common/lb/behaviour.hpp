#pragma once

// How eagerly the load-aware rebalancer acts (`agentlb.rebalance.behaviour`,
// registered as a key in issue 15's next step): the threshold above the fair
// share, how long a server must stay over it, and how fast agents move.

#include "common/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace agentlb::lb {

enum class Behaviour { off, low, normal, aggressive };

inline constexpr std::string_view kDefaultBehaviour = "off";

struct BehaviourSettings {
    // How far above its fair share a server may go before it is over, in
    // thousandths of the share (150 = 15 %). Whole numbers keep every
    // comparison exact: "exactly at the threshold" must never flip on a
    // rounding error.
    std::int64_t threshold_permille = 0;
    // How long a server must stay over, without a break, before it sheds.
    std::chrono::seconds hold{0};
    // Agents a second the servers ask to move (the caller paces the moves).
    std::int64_t rate = 0;
};

// Exact names only (`off`, `low`, `normal`, `aggressive`), like the
// algorithm names: the message lists them.
Result<Behaviour> parse_behaviour(std::string_view value);

std::string_view behaviour_name(Behaviour behaviour);

// The settings of a behaviour; nothing for `off` (the rebalancer does not run).
//   low: 30 %, 120 s, 5 a second; normal: 15 %, 60 s, 20 a second;
//   aggressive: 5 %, 20 s, 100 a second.
std::optional<BehaviourSettings> behaviour_settings(Behaviour behaviour);

}  // namespace agentlb::lb
