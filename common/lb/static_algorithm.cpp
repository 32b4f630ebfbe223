// CloudStack's IndirectAgentLBStaticAlgorithm: every agent gets the list as
// configured.

#include "common/lb/algorithm.hpp"

namespace agentlb::lb {
namespace {

class StaticAlgorithm final : public Algorithm {
public:
    std::string_view name() const override { return "static"; }

    std::vector<std::string> compute(const PlacementInput& input) const override { return input.ms_list; }

    bool agree(const std::vector<std::string>& a, const std::vector<std::string>& b) const override {
        return !a.empty() && !b.empty() && a == b;
    }
};

}  // namespace

const Algorithm& static_algorithm() {
    static const StaticAlgorithm instance;
    return instance;
}

}  // namespace agentlb::lb
