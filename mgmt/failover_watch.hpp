#pragma once

// agentlb_failovers_observed_total: an agent arriving here whose connection
// record named another server that is down. A server that crashed is judged
// down only a few heartbeats later, while its agents are back within a
// second: an arrival from a server still shown up waits here until that
// server is judged down (a failover) or the window passes (it was a move:
// the agent followed a list change or a `migrate`, make-before-break).
// Arrivals from a server in preparing or maintenance are moves (a drain).

#include "common/store/store.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace agentlb::mgmt {

// One failover observed: `host` arrived here from `previous`, found down.
struct ObservedFailover {
    std::string host;
    std::string previous;
};

class FailoverWatch {
public:
    using Clock = std::chrono::steady_clock;
    // Arrivals waiting for a verdict beyond this are forgotten (never counted).
    static constexpr std::size_t kMaxWaiting = 65536;

    // Welcomed agent `host`, whose record named `previous` (another
    // server), with the servers as this server last read them. True when it
    // counts now.
    bool arrived(std::string host,
                 std::string previous,
                 const std::vector<store::ServerRecord>& servers,
                 Clock::time_point now);

    // With the servers just read: the waiting arrivals that became failovers
    // (their server is down now); forgets those older than `window`.
    std::vector<ObservedFailover> settle(const std::vector<store::ServerRecord>& servers,
                                         Clock::time_point now,
                                         Clock::duration window);

    std::size_t waiting() const;

private:
    struct Arrival {
        ObservedFailover failover;
        Clock::time_point at;
    };
    mutable std::mutex mutex_;
    std::deque<Arrival> waiting_;  // oldest first
};

}  // namespace agentlb::mgmt
