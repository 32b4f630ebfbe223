#pragma once

// The standard process_* family (as the Prometheus client libraries write
// it, read from /proc/self) and agentlb_build_info, for /metrics.

#include <optional>
#include <string>
#include <string_view>

namespace agentlb::mgmt {

struct ProcessSample {
    double cpu_seconds = 0;  // user + system
    double resident_bytes = 0;
    double virtual_bytes = 0;
    double start_time_seconds = 0;  // Unix seconds
    double open_fds = 0;
    std::optional<double> max_fds;  // none when unlimited
};

// Parses /proc/<pid>/stat's text (fields after the parenthesised command,
// which may itself hold spaces and parentheses). `ticks_per_second` and
// `page_size` from sysconf, `boot_time` from /proc/stat's btime. Nothing when
// the text is not a stat line.
std::optional<ProcessSample> parse_proc_stat(std::string_view stat,
                                             double ticks_per_second,
                                             double page_size,
                                             double boot_time);

// This process now; nothing when /proc cannot be read.
std::optional<ProcessSample> sample_this_process();

// The series' text for `sample`.
std::string render_process_series(const ProcessSample& sample);

// agentlb_build_info{version,openssl} 1.
std::string render_build_info(std::string_view version, std::string_view openssl);

// This build's version and the OpenSSL it runs with.
std::string render_build_info();

}  // namespace agentlb::mgmt
