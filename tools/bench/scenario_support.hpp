#pragma once

// What the scenarios share: readings of the servers and bench workers from
// /proc, sums over the workers' replies, and the JSON and table forms used by
// more than one scenario.

#include "tools/bench/crypto_ceiling.hpp"
#include "tools/bench/run_context.hpp"
#include "tools/bench/tls_floor.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace agentlb::bench {

// Table rows for emit(): label, value.
using Rows = std::vector<std::pair<std::string, std::string>>;

// Sends the same `command` to every worker and waits for all their replies,
// for at most `timeout`. The failure reads "SCENARIO: why".
Result<std::vector<nlohmann::json>> broadcast_all(RunContext& run,
                                                  const std::string& scenario,
                                                  const nlohmann::json& command,
                                                  std::chrono::steady_clock::duration timeout);

// The fields every scenario's JSON line starts with.
nlohmann::json common_summary(RunContext& run, const std::string& scenario);

// CPU seconds used so far, per server (in run.servers() order).
std::vector<double> server_cpu(RunContext& run);

// Per server, CPU seconds used so far by each thread id.
using ThreadCpu = std::vector<std::map<pid_t, double>>;
ThreadCpu server_threads(RunContext& run);

// Per server, the CPU seconds each thread used between two readings, by
// thread id (the main thread's id is the pid; agentlb-mgmt starts its store
// thread before its other I/O threads).
nlohmann::json thread_delta_json(RunContext& run, const ThreadCpu& before, const ThreadCpu& after);
std::string thread_delta_text(const nlohmann::json& per_server);

// CPU seconds used so far by all bench workers together.
double worker_cpu(RunContext& run);
// Sum over servers of after - before.
double total_delta(const std::vector<double>& before, const std::vector<double>& after);
// Resident bytes now, per server.
std::vector<std::int64_t> server_rss(RunContext& run);

// Sessions per server, summed over the workers' "per_server" arrays.
std::vector<std::size_t> per_server(const std::vector<nlohmann::json>& replies, std::size_t servers);
// A count field summed over the workers' replies.
std::size_t sum_of(const std::vector<nlohmann::json>& replies, const char* field);
nlohmann::json per_server_json(RunContext& run, const std::vector<std::size_t>& counts);
std::string per_server_text(RunContext& run, const std::vector<std::size_t>& counts);

// Failure reasons and their counts.
nlohmann::json failures_json(const std::map<std::string, std::size_t>& failures);
std::string failures_text(const std::map<std::string, std::size_t>& failures);

nlohmann::json ceiling_json(const CryptoCeiling& c);
nlohmann::json floor_json(const FloorResult& f);

}  // namespace agentlb::bench
