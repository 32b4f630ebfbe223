#pragma once

// What the load-aware rebalancer and the density fill know of one zone: its
// connected agents and the servers they may use. Plain values, filled by the
// caller from its cluster view (issue 15's next step), so the rules stay
// pure and every input can be written down in a test.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::lb {

// One connected agent of the zone.
struct ZoneAgent {
    std::int64_t host_id = 0;
    // The server it is connected to: an address compared with `same_endpoint`
    // (so "ms1" and "MS1:8250" are the same server).
    std::string current;
    // Its own ordered list, as the servers last computed it (the `host`
    // entries as written). An agent only ever moves to an entry of it.
    std::vector<std::string> list;
    // The last ping round trip it reported; nothing when it has not reported one.
    std::optional<std::chrono::microseconds> rtt;
};

// One server the zone's agents may use: the zone's effective `host` entries,
// in that order (the density fill follows it).
struct ZoneServer {
    std::string address;  // as in `host`; compared with `same_endpoint`
    // `agentlb.server.weights` (missing = 1). 0 = takes no agents unless
    // every server that counts has weight 0. Read as 0..1,000,000 (negative
    // counts as 0, larger as 1,000,000: the key allows 0..1000).
    std::int64_t weight = 1;
    // Up and not in maintenance (the caller's avoid-list rule). A server that
    // does not count is neither a source nor a destination, and the agents on
    // it are left out of the zone's total: a drain or a failover moves them.
    bool counts = true;
};

struct ZoneLoad {
    std::vector<ZoneAgent> agents;
    // One row per address: a second row naming the same server is ignored.
    std::vector<ZoneServer> servers;
};

// One agent to send elsewhere with `migrate`.
struct Move {
    std::int64_t host_id = 0;
    std::string from;  // the agent's `current`, as given
    std::string to;    // the entry of its list, as written there

    bool operator==(const Move&) const = default;
};

}  // namespace agentlb::lb
