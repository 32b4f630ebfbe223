#pragma once

// Wires the management server together and runs it until SIGTERM/SIGINT.

#include "mgmt/options.hpp"

namespace agentlb::mgmt {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitConfig = 2;  // bad option, unusable CA/store/state dir, busy port

// Returns the process exit code.
int run_server(const Options& options);

}  // namespace agentlb::mgmt
