#pragma once

// The servers' counters of the platform's own messages, read from their
// /metrics (the messages scenario reports what the servers saw beside what
// the ends counted).

#include "tools/bench/run_context.hpp"

#include <cstdint>

namespace agentlb::bench {

struct ServerAppCounters {
    double to_hosts = 0;
    double from_hosts = 0;
    double dropped = 0;        // app frames dropped for a full queue (their sender resends)
    double undeliverable = 0;  // messages answered `undeliverable`
    double relays_sent = 0;    // over the peer link

    void add(const ServerAppCounters& other);
    ServerAppCounters minus(const ServerAppCounters& earlier) const;
};

// One server's, from its admin port; all zero when it does not answer.
ServerAppCounters read_app_counters(std::uint16_t admin_port);
// Summed over the run's servers.
ServerAppCounters read_app_counters(RunContext& run);

}  // namespace agentlb::bench
