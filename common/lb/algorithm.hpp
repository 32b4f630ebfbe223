#pragma once

// The balancing algorithms: CloudStack's indirect agent LB (4.11+) and `hash`.
//
// Each algorithm lives in its own file (<name>_algorithm.cpp) and is listed
// once in the registry in algorithm.cpp; instances are stateless singletons,
// safe to use from any thread.

#include "common/lb/weights.hpp"
#include "common/util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::lb {

// What one agent's list is computed from. A struct so call sites name what
// they pass and an algorithm can ignore what it does not use.
struct PlacementInput {
    const std::vector<std::string>& ms_list;  // the `host` entries, as written
    // Ascending: the zone's registered hosts.
    const std::vector<std::int64_t>& registered_host_ids;
    std::int64_t host_id;
    const Weights& weights;  // agentlb.server.weights; missing = 1
};

class Algorithm {
public:
    virtual ~Algorithm();

    virtual std::string_view name() const = 0;

    // The ordered server list for one agent: a permutation of `ms_list`
    // (empty for an empty `ms_list`). CloudStack's algorithms ignore weights.
    virtual std::vector<std::string> compute(const PlacementInput& input) const = 0;

    // Whether the same input always gives the same list (false for
    // shuffle): the contract test and `preview` rely on it.
    virtual bool deterministic() const { return true; }

    // Whether `weights` shape the lists: `preview` then measures each
    // server against its weighted share rather than an equal one.
    virtual bool uses_weights() const { return false; }

    // Whether an agent holding `a` need not be sent `b`. Anything compared
    // with an empty list disagrees.
    virtual bool agree(const std::vector<std::string>& a, const std::vector<std::string>& b) const = 0;
};

// Exact, case-sensitive name; the error names the allowed values.
Result<const Algorithm*> find_algorithm(std::string_view name);

// In registry order: "static", "roundrobin", "shuffle", "hash".
std::vector<std::string_view> algorithm_names();

}  // namespace agentlb::lb
