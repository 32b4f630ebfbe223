#pragma once

// A worker process: holds a slice of the simulated agents (at most what one
// process's descriptor limit allows) and runs the coordinator's commands,
// one JSON object per line on descriptor 3, one JSON reply per command.
//
// Commands: init, connect, reconnect, status, arm_push,
// collect_push, arm_failover, collect_failover, arm_steady, collect_steady,
// collect_messages, stop. Every wait inside a command has the deadline the
// command gives.

namespace agentlb::bench {

// Runs until "stop" or until the coordinator goes away; returns the exit code.
int run_worker(int control_fd);

}  // namespace agentlb::bench
