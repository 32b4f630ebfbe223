#pragma once

// What an agent holds, or should hold, and the pure rules that decide
// whether it must be told: shared by the server's protocol core
// (common/protocol/server_machine) and agentlb-mgmt's cluster state.

#include "common/lb/algorithm.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::lb {

struct Assignment {
    std::vector<std::string> list;
    std::string algorithm;
    std::int64_t interval = 0;
    std::vector<std::string> avoid;
    bool operator==(const Assignment&) const = default;
};

// Whether an agent holding `held` must be sent `next` (as welcome's
// correction or as ms_list): algorithm name, interval or avoid list differ,
// or the algorithm says the lists disagree. Nothing is sent while `host` is
// unset (an empty list helps no agent).
bool needs_update(const Assignment& held, const Assignment& next, const Algorithm& algorithm);

// What is actually sent: `next`, except that a held list the algorithm
// agrees with is kept as it is (shuffle: a reconnecting agent is not
// reshuffled because only its avoid list changed).
Assignment assignment_to_send(const Assignment& held, const Assignment& next, const Algorithm& algorithm);

// What the agent reported in hello: "a,b,c@algo" plus its interval. A value
// that does not parse counts as holding nothing, and "a,b,c" (no '@') as a
// list with no algorithm, which no configured algorithm matches: either way
// the correction fixes it (CloudStack's compare does the same).
Assignment held_from_hello(std::string_view list_value, std::int64_t interval);

}  // namespace agentlb::lb
