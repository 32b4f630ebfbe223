#pragma once

// What a membership hook (`agentlb-mgmt --hook PROGRAM`) is told: one event,
// its JSON form (PROGRAM's stdin), and the bounded queue events wait in.
// Pure: no processes, no threads, so the shape and the bounds are unit-tested.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace agentlb::mgmt {

inline constexpr std::string_view kHookAgentConnected = "agent.connected";
inline constexpr std::string_view kHookAgentDisconnected = "agent.disconnected";
inline constexpr std::string_view kHookAgentMoved = "agent.moved";
inline constexpr std::string_view kHookServerUp = "server.up";
inline constexpr std::string_view kHookServerDown = "server.down";
inline constexpr std::string_view kHookServerMaintenance = "server.maintenance";

// Events waiting for a hook process at most (--hook-queue, hidden, for tests).
inline constexpr std::size_t kHookQueueLimit = 1000;

struct HookHost {
    std::string name;
    std::int64_t id = 0;
    std::string zone;
};

// Empty strings are left out of the JSON; `host` is set for agent events,
// `peer` and `state` for server events.
struct HookEvent {
    std::string event;
    std::int64_t time = 0;  // Unix seconds when this server saw it
    std::string server;     // the server that saw it (and runs the hook)
    std::optional<HookHost> host;
    std::string peer;    // the server whose state changed (this one or a peer)
    std::string state;   // its new state in the store: up, maintenance, down
    std::string reason;  // a stable token (see docs/OPERATIONS.md)
    std::string detail;  // a sentence for people
    std::string to;      // agent.moved: the server it went to, when known
};

HookEvent agent_hook_event(std::string_view event,
                           std::string server,
                           HookHost host,
                           std::string reason = {},
                           std::string detail = {});
HookEvent server_hook_event(std::string_view event,
                            std::string server,
                            std::string peer,
                            std::string state,
                            std::string reason,
                            std::string detail = {});

// This server's own state as its snapshots show it, as hook events:
// `state` is its row's state in the newest snapshot ("" when it has no row),
// `reported` the last state an event was made for ("" before the first),
// updated here. up -> server.up (reason "started" the first time,
// "maintenance_ended" after maintenance, "rejoined" after down);
// maintenance -> server.maintenance; down -> server.down ("marked_down").
// `preparing` (a drain under way) and a missing row make no event: a
// drain cancelled before it reached maintenance was never reported.
std::optional<HookEvent> own_state_hook_event(const std::string& server,
                                              std::string& reported,
                                              std::string_view state);

// One JSON object on one line (bytes that are not UTF-8 become U+FFFD).
std::string hook_event_json(const HookEvent& event);

// Events waiting for a hook process: at most `limit`; what does not fit is
// counted as dropped.
class HookQueue {
public:
    explicit HookQueue(std::size_t limit) : limit_(limit) {}

    // False (and counted) when full.
    bool push(HookEvent event);
    std::optional<HookEvent> pop();
    std::size_t size() const { return events_.size(); }
    bool empty() const { return events_.empty(); }
    std::size_t limit() const { return limit_; }
    // Every event refused so far.
    std::uint64_t dropped() const { return dropped_; }
    // Empties the queue; returns how many were waiting.
    std::size_t clear();

private:
    std::size_t limit_;
    std::deque<HookEvent> events_;
    std::uint64_t dropped_ = 0;
};

// Drops are logged at most once per `period`, with the count since the last line.
class DropReport {
public:
    using Clock = std::chrono::steady_clock;
    explicit DropReport(Clock::duration period) : period_(period) {}

    // Counts one drop; the number to report now (0: stay quiet).
    std::uint64_t on_drop(Clock::time_point now);

private:
    Clock::duration period_;
    std::optional<Clock::time_point> last_;
    std::uint64_t pending_ = 0;
};

}  // namespace agentlb::mgmt
