#include "mgmt/agent_history.hpp"

namespace agentlb::mgmt {

void AgentHistory::add(HistorySample sample) {
    if (capacity_ == 0) {
        return;
    }
    std::lock_guard lock(mutex_);
    if (samples_.size() == capacity_) {
        samples_.pop_front();
    }
    samples_.push_back(std::move(sample));
}

std::vector<HistorySample> AgentHistory::samples() const {
    std::lock_guard lock(mutex_);
    return {samples_.begin(), samples_.end()};
}

std::vector<StateChange> state_changes(const HistorySample& before, const HistorySample& now) {
    std::vector<StateChange> changes;
    for (const auto& [name, sample] : now.servers) {
        const auto was = before.servers.find(name);
        const std::string from = was == before.servers.end() ? std::string() : was->second.state;
        if (from != sample.state) {
            changes.push_back({name, from, sample.state});
        }
    }
    return changes;
}

}  // namespace agentlb::mgmt
