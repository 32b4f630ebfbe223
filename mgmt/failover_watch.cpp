#include "mgmt/failover_watch.hpp"

#include <algorithm>

namespace agentlb::mgmt {

namespace {

enum class Verdict { failover, move, undecided };

Verdict judge(const std::string& previous, const std::vector<store::ServerRecord>& servers) {
    const auto row = std::find_if(
        servers.begin(), servers.end(), [&previous](const auto& server) { return server.name == previous; });
    if (row == servers.end() || row->state == store::kServerDown) {
        return Verdict::failover;  // a missing row: removed after it died
    }
    if (row->state == store::kServerUp) {
        return Verdict::undecided;
    }
    return Verdict::move;
}

}  // namespace

bool FailoverWatch::arrived(std::string host,
                            std::string previous,
                            const std::vector<store::ServerRecord>& servers,
                            Clock::time_point now) {
    const auto verdict = judge(previous, servers);
    if (verdict != Verdict::undecided) {
        return verdict == Verdict::failover;
    }
    std::lock_guard lock(mutex_);
    if (waiting_.size() >= kMaxWaiting) {
        waiting_.pop_front();
    }
    waiting_.push_back({{std::move(host), std::move(previous)}, now});
    return false;
}

std::vector<ObservedFailover> FailoverWatch::settle(const std::vector<store::ServerRecord>& servers,
                                                    Clock::time_point now,
                                                    Clock::duration window) {
    std::lock_guard lock(mutex_);
    std::vector<ObservedFailover> failovers;
    std::deque<Arrival> still;
    for (auto& arrival : waiting_) {
        const auto verdict = judge(arrival.failover.previous, servers);
        if (verdict == Verdict::failover) {
            failovers.push_back(std::move(arrival.failover));
        } else if (verdict == Verdict::undecided && now - arrival.at <= window) {
            still.push_back(std::move(arrival));
        }
    }
    waiting_ = std::move(still);
    return failovers;
}

std::size_t FailoverWatch::waiting() const {
    std::lock_guard lock(mutex_);
    return waiting_.size();
}

}  // namespace agentlb::mgmt
