#pragma once

// Whether a management server counts as up, judged as the servers judge each
// other: its row says "up" and its heartbeat is at most three heartbeat
// intervals old (mgmt/options.hpp: kDefaultServerHeartbeatInterval,
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
    bool up = false;
    // Why it is down, for people: "marked down", "no heartbeat for 40 s
    // (limit 6 s)", "never sent a heartbeat"; empty when up.
    std::string reason;
};

ServerLiveness judge_server(const store::ServerRecord& server, std::int64_t now);

// "up" or "down", as `mgmt list` shows it.
std::string effective_state(const store::ServerRecord& server, std::int64_t now);

}  // namespace agentlb::ctl
