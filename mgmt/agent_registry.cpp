#include "mgmt/agent_registry.hpp"

#include <algorithm>

namespace agentlb::mgmt {

void AgentRegistry::add(std::int64_t host_id, const std::shared_ptr<AgentSession>& session) {
    std::lock_guard lock(mutex_);
    by_host_[host_id].push_back(Entry{session.get(), session});
    ++entries_;
}

std::size_t AgentRegistry::remove(std::int64_t host_id, const AgentSession* session) {
    std::lock_guard lock(mutex_);
    auto it = by_host_.find(host_id);
    if (it == by_host_.end()) {
        return 0;
    }
    auto& list = it->second;
    const auto before = list.size();
    // Never lock a weak_ptr here: the last owner could then be released under
    // the mutex. Expired entries are dropped on the way.
    list.erase(std::remove_if(list.begin(),
                              list.end(),
                              [session](const Entry& entry) {
                                  return entry.address == session || entry.session.expired();
                              }),
               list.end());
    const auto remaining = list.size();
    entries_ -= before - remaining;
    if (remaining == 0) {
        by_host_.erase(it);
    }
    return remaining;
}

std::vector<std::shared_ptr<AgentSession>> AgentRegistry::sessions() const {
    std::vector<std::shared_ptr<AgentSession>> out;
    std::lock_guard lock(mutex_);
    for (const auto& [host_id, list] : by_host_) {
        for (const auto& entry : list) {
            if (auto strong = entry.session.lock()) {
                out.push_back(std::move(strong));
            }
        }
    }
    return out;
}

std::vector<std::shared_ptr<AgentSession>> AgentRegistry::sessions_of(std::int64_t host_id) const {
    std::vector<std::shared_ptr<AgentSession>> out;
    std::lock_guard lock(mutex_);
    auto it = by_host_.find(host_id);
    if (it != by_host_.end()) {
        for (const auto& entry : it->second) {
            if (auto strong = entry.session.lock()) {
                out.push_back(std::move(strong));
            }
        }
    }
    return out;
}

std::vector<std::int64_t> AgentRegistry::host_ids() const {
    std::vector<std::int64_t> ids;
    std::lock_guard lock(mutex_);
    ids.reserve(by_host_.size());
    for (const auto& [host_id, list] : by_host_) {
        ids.push_back(host_id);
    }
    return ids;
}

std::size_t AgentRegistry::host_count() const {
    std::lock_guard lock(mutex_);
    return by_host_.size();
}

std::size_t AgentRegistry::session_count() const {
    std::lock_guard lock(mutex_);
    return entries_;
}

std::size_t AgentRegistry::session_count_of(std::int64_t host_id) const {
    std::lock_guard lock(mutex_);
    auto it = by_host_.find(host_id);
    if (it == by_host_.end()) {
        return 0;
    }
    return static_cast<std::size_t>(std::count_if(
        it->second.begin(), it->second.end(), [](const Entry& entry) { return !entry.session.expired(); }));
}

}  // namespace agentlb::mgmt
