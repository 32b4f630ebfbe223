#pragma once

// The balancing algorithms of CloudStack's indirect agent LB (4.11+).
//
// Each algorithm lives in its own file (<name>_algorithm.cpp) and is listed
// once in the registry in algorithm.cpp; instances are stateless singletons,
// safe to use from any thread.

#include "common/util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::lb {

class Algorithm {
public:
    virtual ~Algorithm();

    virtual std::string_view name() const = 0;

    // The ordered server list for one agent. `registered_host_ids` must be
    // ascending (the zone's hosts); an empty `ms_list` gives an empty result.
    virtual std::vector<std::string> compute(const std::vector<std::string>& ms_list,
                                             const std::vector<std::int64_t>& registered_host_ids,
                                             std::int64_t host_id) const = 0;

    // Whether an agent holding `a` need not be sent `b`. Anything compared
    // with an empty list disagrees.
    virtual bool agree(const std::vector<std::string>& a, const std::vector<std::string>& b) const = 0;
};

// Exact, case-sensitive name; the error names the allowed values.
Result<const Algorithm*> find_algorithm(std::string_view name);

// In registry order: "static", "roundrobin", "shuffle".
std::vector<std::string_view> algorithm_names();

}  // namespace agentlb::lb
