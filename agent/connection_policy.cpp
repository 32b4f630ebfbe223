#include "agent/connection_policy.hpp"

#include <memory>
#include <random>

namespace agentlb::agent {

UnitRandom make_default_random() {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

}  // namespace agentlb::agent
