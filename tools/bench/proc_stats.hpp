#pragma once

// What the kernel says about a process: resident memory, CPU time, and the
// machine's load, read from /proc. Each figure in a report comes with the
// load average beside it, because the machine is shared.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>

namespace agentlb::bench {

// VmRSS of the process in bytes; nothing when it is gone.
std::optional<std::int64_t> resident_bytes(pid_t pid);

// utime + stime of the process (all its threads) in seconds; nothing when it is gone.
std::optional<double> cpu_seconds(pid_t pid);

// utime + stime per thread (by thread id, ascending), in seconds.
std::map<pid_t, double> thread_cpu_seconds(pid_t pid);

// The three load averages, as /proc/loadavg prints them ("2.14 4.34 3.61").
std::string load_average();

// The hard RLIMIT_NOFILE of this process (children inherit it): at most
// that many sessions per agentlb-mgmt, and per worker.
std::uint64_t descriptor_limit();

// Lifts this process's soft RLIMIT_NOFILE to the hard one, so that a
// process holds as many sessions as it may.
void raise_descriptor_limit();

// Online processors.
int cpu_count();

}  // namespace agentlb::bench
