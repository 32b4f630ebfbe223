#pragma once

// The agent's figures for node_exporter's textfile collector (--metrics-file):
// an agent has no port of its own, so it writes what a scrape would show into
// a file that node_exporter exports with the host's other metrics.
//
// Series (DESIGN.md "Agent metrics file"):
//   agentlb_agent_connected                          0 or 1
//   agentlb_agent_server_info{server,position}       1, only while connected;
//                                                    position: 1 = first in the held list,
//                                                    0 = not in it (being left)
//   agentlb_agent_failovers_total                    connections taken on another server
//                                                    after losing one (not planned moves)
//   agentlb_agent_list_changed_timestamp_seconds     when the held list last changed
//   agentlb_agent_certificate_not_after_seconds      the agent certificate's end
//   agentlb_agent_build_info{version,openssl}        1
//   agentlb_agent_last_write_timestamp_seconds       when this file was written
//
// Rendering is pure; writing blocks on the disk (the agent's file worker).

#include "common/util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace agentlb::agent {

struct AgentFigures {
    bool connected = false;
    std::string server;  // HOST:PORT as in the held list; used only while connected
    int position = 0;
    std::uint64_t failovers = 0;
    std::int64_t list_changed_at = 0;  // unix seconds; 0: unknown
    std::optional<std::int64_t> certificate_not_after;
    std::string version;
    std::string openssl;
    double written_at = 0;  // unix seconds with a fraction
};

// The Prometheus text exposition of `figures` (HELP and TYPE for each family).
std::string render_agent_metrics(const AgentFigures& figures);

// Writes render_agent_metrics(figures) to `path` atomically (a temporary file in
// the same folder, then rename), mode 0644. Errors name the path and the step.
Status write_agent_metrics(const std::filesystem::path& path, const AgentFigures& figures);

// Figures with what does not depend on the agent's state filled in: the
// versions (OpenSSL's as OPENSSL_VERSION_STRING, e.g. "3.0.11") and the write
// time, now.
AgentFigures figures_now();

// When `path` was last modified, in unix seconds; 0 when it cannot be read.
std::int64_t modified_unix_seconds(const std::filesystem::path& path);

}  // namespace agentlb::agent
