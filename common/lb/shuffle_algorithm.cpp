// CloudStack's IndirectAgentLBShuffleAlgorithm: a random order per agent.
// Lists holding the same servers agree, so a reconnecting agent keeps the
// order it already has instead of being reshuffled.

#include "common/lb/algorithm.hpp"

#include <algorithm>
#include <random>

namespace agentlb::lb {
namespace {

std::mt19937_64& engine() {
    // Per thread: no lock on the hot path, and no shared state between threads.
    thread_local std::mt19937_64 instance{std::random_device{}()};
    return instance;
}

class ShuffleAlgorithm final : public Algorithm {
public:
    std::string_view name() const override { return "shuffle"; }

    bool deterministic() const override { return false; }

    std::vector<std::string> compute(const PlacementInput& input) const override {
        std::vector<std::string> result = input.ms_list;
        std::shuffle(result.begin(), result.end(), engine());
        return result;
    }

    bool agree(const std::vector<std::string>& a, const std::vector<std::string>& b) const override {
        if (a.empty() || b.empty() || a.size() != b.size()) {
            return false;
        }
        std::vector<std::string> sorted_a = a;
        std::vector<std::string> sorted_b = b;
        std::sort(sorted_a.begin(), sorted_a.end());
        std::sort(sorted_b.begin(), sorted_b.end());
        return sorted_a == sorted_b;
    }
};

}  // namespace

const Algorithm& shuffle_algorithm() {
    static const ShuffleAlgorithm instance;
    return instance;
}

}  // namespace agentlb::lb
