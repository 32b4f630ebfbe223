#pragma once

// What the failover and storm scenarios share: one server is SIGKILLed while
// every worker collects its agents' reconnections; the time each agent was
// back, the losses and the CPU the survivors and the workers spent.

#include "tools/bench/phase_figures.hpp"
#include "tools/bench/run_context.hpp"
#include "tools/bench/scenario_support.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace agentlb::bench {

struct KilledServer {
    std::vector<nlohmann::json> replies;  // the workers' collect_failover replies
    std::vector<double> cpu_before;       // per server; the victim's after equals its before
    std::vector<double> cpu_after;
    nlohmann::json threads;  // thread_delta_json between the kill and the last reply
    double client_cpu_s = 0.0;
    std::size_t lost = 0;         // agents that lost their server
    std::vector<double> back_s;   // per agent back: seconds after the kill
    std::size_t resumed = 0;      // of those back, by resumption
    std::size_t connected = 0;    // agents connected at the end
    PhaseFigures attempts;        // the reconnections' tries
};

// Kills server `victim` with SIGKILL and collects for at most `wait`.
// Failures read "SCENARIO: why".
Result<KilledServer> kill_and_collect(RunContext& run,
                                      std::size_t victim,
                                      const std::string& scenario,
                                      std::chrono::seconds wait);

}  // namespace agentlb::bench
