#pragma once

// agentlb-bench's command line, parsed into a typed struct.

#include "common/util/result.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace agentlb::bench {

// In the order they run, whatever order the command line names them.
inline const std::vector<std::string>& scenario_names() {
    static const std::vector<std::string> names{
        "ceiling", "floor", "connect", "propagate", "steady", "messages", "failover", "storm", "kill-return"};
    return names;
}

struct BenchOptions {
    std::vector<std::string> scenarios;  // canonical order
    std::size_t agents = 1000;
    int servers = 1;
    // The servers' `indirect.agent.lb.algorithm`: roundrobin, or static for
    // storm (every agent holds [A, B] and is on A).
    std::string algorithm = "roundrobin";
    std::string work_dir = "/dev/shm/agentlb-bench";
    std::string ca_dir;    // default WORK/ca, created when missing
    std::string db;        // default WORK/agentlb.db; a PostgreSQL URI or key=value string works too
    std::string mgmt_bin;  // default: agentlb-mgmt beside this binary
    int mgmt_threads = 2;
    std::vector<std::string> mgmt_args;
    // Global configuration keys written to the store before the servers start
    // (--set KEY=VALUE), e.g. agentlb.handshake.max.inflight.
    std::vector<std::pair<std::string, std::string>> settings;
    double rate = 2000;                // new sessions per second, all workers together; 0 = no limit
    int inflight = 100;                // sessions setting up at once, all workers together
    std::size_t resume_sample = 2000;  // at most agents; 0 = skip
    std::size_t agents_per_worker = 15000;
    int steady_seconds = 30;
    int floor_sessions = 0;  // 0 = min(agents, 2000)
    int ceiling_ms = 500;    // per primitive
    int timeout_seconds = 900;
    int connect_timeout_seconds = 0;  // 0 = 60 + N/100
    int propagate_timeout_seconds = 30;
    int failover_timeout_seconds = 60;
    // kill-return: HAProxy binary to put in front of the servers (empty: the
    // agents hold agentlb's own lists), and how long the killed server is
    // back before the spread is read.
    std::string haproxy;
    int return_seconds = 30;
    // messages: the application's commands to the hosts and their answers.
    // Each phase (round trip at --messages-rate, then saturation) runs this long.
    int messages_seconds = 10;
    double messages_rate = 1000;          // commands per second in the round-trip phase
    std::size_t messages_window = 8;      // commands in flight per host at saturation
    std::size_t messages_inflight = 400;  // and over all hosts, per application connection
    std::size_t messages_payload = 256;   // bytes of each command and answer
    int app_clients = 1;                  // client::Client connections (threads) of the application
    // messages on 2 servers or more: times a server holding hosts (never the
    // application's, ms1) is SIGKILLed and restarted while commands stream,
    // and the seconds the stream runs before each kill and after the last
    // restart. Default 1 with 2 servers or more, 0 with one.
    int messages_kills = 0;
    int messages_kill_interval = 2;
};

struct ParsedBench {
    enum class Action { run, help, worker };
    Action action = Action::run;
    std::string text;
    BenchOptions options;
};

Result<ParsedBench> parse_bench_options(int argc, const char* const argv[]);

}  // namespace agentlb::bench
