#pragma once

// The scenarios: each measures, then prints its JSON line and table
// (report.hpp). Those that need servers expect start_servers() and
// start_workers() to have run; connect_agents() must precede propagate,
// steady, messages and failover.

#include "common/util/result.hpp"
#include "tools/bench/run_context.hpp"

namespace agentlb::bench {

Status run_ceiling(RunContext& run);
Status run_floor(RunContext& run);
// Connects every agent; reports only when `report` (the connect scenario),
// which also measures resumed handshakes on a sample.
Status connect_agents(RunContext& run, bool report);
Status run_propagate(RunContext& run);
Status run_steady(RunContext& run);
// Needs ms1 started with its app socket, every server on the peer link when
// there are several (start_servers() does both when the run names messages),
// and hosts whose hello announced theirs.
Status run_messages(RunContext& run);
Status run_failover(RunContext& run);
// Needs 2 servers and the static algorithm (options: storm sets both).
Status run_storm(RunContext& run);
// Needs 2 servers or more; through HAProxy when the run has one (--haproxy).
Status run_kill_return(RunContext& run);

}  // namespace agentlb::bench
