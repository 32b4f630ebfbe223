#pragma once

// What the admin endpoint answers: /healthz, /metrics, /v1/status, and the
// status page with its JSON (status_page.hpp, status_api.hpp).

#include "mgmt/admin_http.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace agentlb::mgmt {

class SharedState;

HttpReply admin_route(SharedState& state, std::string_view target);

// {"server": {...}, "agents": [...], "servers": [...], "rss_bytes": N}
std::string status_json(SharedState& state);

// Resident set size from /proc/self/statm; 0 when unavailable.
std::int64_t resident_bytes();

}  // namespace agentlb::mgmt
