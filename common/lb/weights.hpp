#pragma once

// `agentlb.server.weights`: how much of the agents each management server
// should be first for, under the algorithms that use it (`hash`).

#include "common/util/result.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::lb {

// Keyed by the address exactly as written in `host` (after its trimming).
// An address that is missing weighs 1.
using Weights = std::map<std::string, std::int64_t, std::less<>>;

inline constexpr std::int64_t kDefaultWeight = 1;
inline constexpr std::int64_t kMaxWeight = 1000;

// "ADDRESS=WEIGHT,ADDRESS=WEIGHT": spaces around entries, addresses and
// weights are trimmed; weights are whole numbers 0..kMaxWeight; every address
// must be an entry of `hosts` as written there, at most once. An empty (or
// all-space) value means every server weighs 1. Messages do not name the key:
// callers add it.
Result<Weights> parse_weights(std::string_view value, const std::vector<std::string>& hosts);

// The same checks but the one against `host`: what can be said of a value
// without knowing `host`.
Result<Weights> parse_weights_syntax(std::string_view value);

// "a=2,b=0", in the map's order; "" for no weights.
std::string format_weights(const Weights& weights);

// The weight of `address` (kDefaultWeight when not listed).
std::int64_t weight_of(const Weights& weights, std::string_view address);

}  // namespace agentlb::lb
