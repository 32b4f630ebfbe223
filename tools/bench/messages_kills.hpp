#pragma once

// The messages scenario through server kills (issue 19: "the same through a
// SIGKILL of one server"; a soak with --messages-kills 100). While every
// application connection streams commands at --messages-rate, a server
// holding hosts is SIGKILLed, its hosts fail over to the others, and it is
// restarted with the same name, ports and state; --messages-kills times,
// --messages-kill-interval seconds of stream before each kill and after the
// last restart. ms1, which holds the application's connection, is never
// killed: the others take turns (one holding no host is passed over for the
// one holding the most). What the streams lost, duplicated or reordered is
// checked by the scenario at the end of the run, over every phase.

#include "common/util/result.hpp"
#include "tools/bench/app_counters.hpp"
#include "tools/bench/app_driver.hpp"
#include "tools/bench/run_context.hpp"
#include "tools/bench/scenario_support.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace agentlb::bench {

struct KillCycle {
    std::string victim;
    std::size_t hosts = 0;  // hosts it held when killed
    std::size_t back = 0;   // of those, welcomed elsewhere again
    double all_back_s = 0;  // the kill -> the last of them welcomed
    double restart_s = 0;   // the restart -> /healthz answers
};

struct KillPhase {
    std::size_t asked = 0;
    std::vector<KillCycle> cycles;         // the kills done
    AppPhase stream;                       // commands sent and answers received during the phase
    double seconds = 0;                    // the stream's length
    std::vector<std::size_t> hosts_after;  // per server, at the end
    // What ms1, the application's server (never killed, so its counters
    // run on), saw during the phase: undeliverable answers, drops.
    ServerAppCounters app_server;
    std::string error;  // why the kills stopped before `asked`, if they did
};

// Runs the phase with the scenario's connected `drivers`, then drains them
// (every command answered and acknowledged, or a deadline).
KillPhase run_message_kills(RunContext& run, std::vector<std::unique_ptr<AppDriver>>& drivers);

nlohmann::json kill_phase_json(RunContext& run, const KillPhase& phase);
void add_kill_rows(RunContext& run, const KillPhase& phase, Rows& rows);

}  // namespace agentlb::bench
