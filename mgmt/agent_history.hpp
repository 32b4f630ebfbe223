#pragma once

// Agents per server over the last hour, for the status page's chart
// (GET /v1/history): a bounded ring of samples in memory, the oldest
// dropped first. kHistoryCapacity samples at the default period of
// kHistorySamplePeriod make an hour. Any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace agentlb::mgmt {

inline constexpr std::chrono::milliseconds kHistorySamplePeriod{10000};
inline constexpr std::size_t kHistoryCapacity = 360;

struct ServerSample {
    std::int64_t agents = 0;
    std::string state;  // up, preparing, maintenance, down
};

struct HistorySample {
    std::int64_t time_ms = 0;                     // Unix milliseconds
    std::map<std::string, ServerSample> servers;  // by server name
};

class AgentHistory {
public:
    explicit AgentHistory(std::size_t capacity = kHistoryCapacity) : capacity_(capacity) {}

    void add(HistorySample sample);
    // Oldest first.
    std::vector<HistorySample> samples() const;
    std::size_t capacity() const { return capacity_; }

private:
    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::deque<HistorySample> samples_;
};

// A server whose state differs between two consecutive samples (or that
// appears in `now` only).
struct StateChange {
    std::string server;
    std::string from;  // "" when the server is new
    std::string to;
};
std::vector<StateChange> state_changes(const HistorySample& before, const HistorySample& now);

}  // namespace agentlb::mgmt
