#pragma once

// The recent events the status page lists (GET /v1/events): agents moved
// away, lost or failed over to here, connections refused, servers up, down
// or in maintenance.
// A bounded ring in memory: the newest kEventLogCapacity events, the oldest
// dropped first. Fed where the membership hook events and the handshake
// refusals are made; any thread.

#include "mgmt/hook_event.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::mgmt {

inline constexpr std::size_t kEventLogCapacity = 200;

// A connection refused before its session began (TLS or hello).
inline constexpr std::string_view kEventAgentRefused = "agent.refused";

struct StatusEvent {
    std::uint64_t id = 0;   // increasing over the server's life: the page shows what is new
    std::int64_t time = 0;  // Unix seconds
    std::string kind;       // a hook event name or kEventAgentRefused
    std::string host;       // the agent's name, or its address when refused before hello
    std::string peer;       // the server an event names (server.* events; agent.moved's `to`)
    std::string reason;     // a stable token, as the hook's and the handshake metrics'
    std::string detail;     // a sentence for people
};

// The hook events the page lists: this server's own server events,
// agent.moved, and an agent.disconnected other than a close by this server's
// own shutdown. A peer's state changes come from the history sampler.
// agent.connected is left out: a storm of reconnections would push every
// other event out of the ring, and the chart shows the arrivals.
std::optional<StatusEvent> status_event_of(const HookEvent& event);

StatusEvent refusal_event(std::int64_t time, std::string who, std::string reason, std::string detail);
// An agent that arrived here from a server found down (FailoverWatch).
inline constexpr std::string_view kEventAgentFailover = "agent.failover";
StatusEvent failover_event(std::int64_t time, std::string host, std::string from);

class EventLog {
public:
    explicit EventLog(std::size_t capacity = kEventLogCapacity) : capacity_(capacity) {}

    // Numbers the event (its id) and keeps it, dropping the oldest when full.
    void add(StatusEvent event);
    // Oldest first.
    std::vector<StatusEvent> recent() const;
    std::size_t capacity() const { return capacity_; }
    // Every event added so far, kept or not.
    std::uint64_t total() const;

private:
    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::deque<StatusEvent> events_;
    std::uint64_t next_id_ = 1;
};

}  // namespace agentlb::mgmt
