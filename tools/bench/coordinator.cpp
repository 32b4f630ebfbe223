#include "tools/bench/coordinator.hpp"

#include "tools/bench/run_context.hpp"
#include "tools/bench/scenarios.hpp"

#include <algorithm>
#include <cstdio>
#include <thread>
#include <unistd.h>

namespace agentlb::bench {

namespace {

bool wants(const BenchOptions& o, const char* name) {
    return std::find(o.scenarios.begin(), o.scenarios.end(), name) != o.scenarios.end();
}

// The run must end by itself: past --timeout the process exits, and its
// children (servers, workers) die with it (PR_SET_PDEATHSIG).
void arm_watchdog(int seconds) {
    std::thread([seconds] {
        std::this_thread::sleep_for(std::chrono::seconds(seconds) + std::chrono::seconds(20));
        std::fprintf(stderr, "agentlb-bench: --timeout %d s reached, stopping\n", seconds);
        std::fflush(stderr);
        ::_exit(3);
    }).detach();
}

Status run_all(RunContext& run) {
    const auto& o = run.options();
    if (auto status = run.prepare(); !status) {
        return status;
    }
    // Measured before any server runs, so that only the other users of the
    // machine compete with them.
    if (wants(o, "ceiling") || wants(o, "connect")) {
        if (auto status = wants(o, "ceiling")
                              ? run_ceiling(run)
                              : Status(run.ceiling() ? success() : fail(run.ceiling().error()));
            !status) {
            return status;
        }
    }
    if (wants(o, "floor") || wants(o, "connect")) {
        if (auto status = wants(o, "floor") ? run_floor(run)
                                            : Status(run.floor() ? success() : fail(run.floor().error()));
            !status) {
            return status;
        }
    }
    const bool needs_servers = wants(o, "connect") || wants(o, "propagate") || wants(o, "steady") ||
                               wants(o, "messages") || wants(o, "failover") || wants(o, "storm") ||
                               wants(o, "kill-return");
    if (!needs_servers) {
        return success();
    }
    for (auto step : {&RunContext::prepare_agents, &RunContext::start_servers, &RunContext::start_workers}) {
        if (auto status = (run.*step)(); !status) {
            return status;
        }
    }
    if (auto status = connect_agents(run, wants(o, "connect")); !status) {
        return status;
    }
    if (wants(o, "propagate")) {
        if (auto status = run_propagate(run); !status) {
            return status;
        }
    }
    if (wants(o, "steady")) {
        if (auto status = run_steady(run); !status) {
            return status;
        }
    }
    if (wants(o, "messages")) {
        if (auto status = run_messages(run); !status) {
            return status;
        }
    }
    if (wants(o, "failover")) {
        if (auto status = run_failover(run); !status) {
            return status;
        }
    }
    if (wants(o, "storm")) {
        if (auto status = run_storm(run); !status) {
            return status;
        }
    }
    if (wants(o, "kill-return")) {
        if (auto status = run_kill_return(run); !status) {
            return status;
        }
    }
    return success();
}

}  // namespace

int run_bench(const BenchOptions& options, const std::string& self_exe) {
    arm_watchdog(options.timeout_seconds);
    Status status = success();
    {
        RunContext run(options, self_exe);
        try {
            status = run_all(run);
        } catch (const std::exception& e) {
            status = fail(e.what());
        }
    }
    if (!status) {
        std::fprintf(stderr, "agentlb-bench: %s\n", status.error().c_str());
        return 1;
    }
    return 0;
}

}  // namespace agentlb::bench
