// CloudStack's IndirectAgentLBRoundRobinAlgorithm: the list rotated left by
// the agent's position among the zone's hosts, so consecutive hosts prefer
// consecutive servers.

#include "common/lb/algorithm.hpp"

#include <algorithm>
#include <cassert>
#include <cstddef>

namespace agentlb::lb {
namespace {

class RoundRobinAlgorithm final : public Algorithm {
public:
    std::string_view name() const override { return "roundrobin"; }

    std::vector<std::string> compute(const PlacementInput& input) const override {
        const auto& ms_list = input.ms_list;
        const auto& registered_host_ids = input.registered_host_ids;
        const std::int64_t host_id = input.host_id;
        if (ms_list.empty()) {
            return {};
        }
        assert(std::is_sorted(registered_host_ids.begin(), registered_host_ids.end()));
        // Position, not id value: ids have gaps after removals. A host not yet
        // registered takes the next position (== count).
        auto it = std::lower_bound(registered_host_ids.begin(), registered_host_ids.end(), host_id);
        std::size_t position = static_cast<std::size_t>(it - registered_host_ids.begin());
        if (it == registered_host_ids.end() || *it != host_id) {
            position = registered_host_ids.size();
        }
        std::vector<std::string> result = ms_list;
        std::rotate(result.begin(),
                    result.begin() + static_cast<std::ptrdiff_t>(position % result.size()),
                    result.end());
        return result;
    }

    bool agree(const std::vector<std::string>& a, const std::vector<std::string>& b) const override {
        return !a.empty() && !b.empty() && a == b;
    }
};

}  // namespace

const Algorithm& roundrobin_algorithm() {
    static const RoundRobinAlgorithm instance;
    return instance;
}

}  // namespace agentlb::lb
