#include "common/lb/load_tracker.hpp"

namespace agentlb::lb {

std::vector<std::string> LoadTracker::update(Clock::time_point now, const std::vector<ServerLoad>& loads) {
    std::map<std::string, State, std::less<>> next;
    std::vector<std::string> shed;
    for (const ServerLoad& load : loads) {
        State state;
        if (auto it = states_.find(load.address); it != states_.end()) {
            state = it->second;
        }
        if (load.settled) {
            state.armed = true;
        }
        if (!load.over) {
            state.over_since.reset();
        } else if (!state.over_since) {
            state.over_since = now;
        }
        if (load.over && state.armed && now - *state.over_since >= hold_) {
            shed.push_back(load.address);
            state.armed = false;
            state.over_since.reset();
        }
        next[load.address] = state;
    }
    states_ = std::move(next);
    return shed;
}

bool LoadTracker::armed(const std::string& address) const {
    const auto it = states_.find(address);
    return it == states_.end() || it->second.armed;
}

}  // namespace agentlb::lb
