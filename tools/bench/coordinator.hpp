#pragma once

// The benchmark run: prepares the CA, the store and the agents' identities,
// starts the management servers and the worker processes, runs the chosen
// scenarios in order and reports each one.

#include "tools/bench/options.hpp"

#include <string>

namespace agentlb::bench {

// Returns the process exit code: 0 when every scenario ran to its end (a
// missed target is a figure in the report, not an error), 1 when a step
// failed (the reason is on stderr).
int run_bench(const BenchOptions& options, const std::string& self_exe);

}  // namespace agentlb::bench
