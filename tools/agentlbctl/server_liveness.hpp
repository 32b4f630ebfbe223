#pragma once

// Whether a management server is running, judged as the servers judge each
// other: its row does not say "down" and its heartbeat is at most three
// heartbeat intervals old (mgmt/options.hpp: kDefaultServerHeartbeatInterval,
// kMissedHeartbeatsBeforeDead). The only place agentlbctl keeps that limit.

#include "common/store/store.hpp"

#include <cstdint>
#include <string>

namespace agentlb::ctl {

inline constexpr std::int64_t kServerHeartbeatIntervalSeconds = 2;
inline constexpr std::int64_t kMissedServerHeartbeats = 3;
inline constexpr std::int64_t kServerStaleAfterSeconds =
    kServerHeartbeatIntervalSeconds * kMissedServerHeartbeats;

struct ServerLiveness {
    // Running: not marked down, heartbeat fresh. A running server may still
    // take no agents (preparing, maintenance).
    bool alive = false;
    // What `mgmt list` shows: the row's state ("up", "preparing",
    // "maintenance") while alive, else "down".
    std::string state;
    // Why it is down, for people: "marked down", "no heartbeat for 40 s
    // (limit 6 s)", "never sent a heartbeat"; empty when alive.
    std::string reason;
};

ServerLiveness judge_server(const store::ServerRecord& server, std::int64_t now);

// One of the four states, as `mgmt list` shows it (a stale heartbeat shows "down").
std::string effective_state(const store::ServerRecord& server, std::int64_t now);

}  // namespace agentlb::ctl
