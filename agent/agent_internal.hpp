#pragma once

// Helpers shared by the files that implement Agent (agent*.cpp); not for other
// components.

#include "agent/connection_policy.hpp"
#include "agent/credentials.hpp"
#include "agent/options.hpp"
#include "common/lb/host_list.hpp"
#include "common/util/bounded_join.hpp"
#include "common/util/exception_text.hpp"

#include <openssl/types.h>
#include <spdlog/spdlog.h>

#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace agentlb::agent::detail {

inline void log_exception(std::exception_ptr ep, const char* what) {
    if (auto text = util::exception_text(ep)) {
        spdlog::critical("agent {} ended by an exception: {}", what, *text);
    }
}

// 1 s, x2, cap 60 s, +/-20 % unless a test flag changed the bounds.
inline BackoffSettings backoff_from(const Tuning& tuning) {
    BackoffSettings settings;
    settings.initial = tuning.backoff_initial;
    settings.cap = tuning.backoff_cap;
    return settings;
}

// For log lines: a long list is cut (util::join_bounded).
inline std::string describe_list(const std::vector<std::string>& hosts, const std::string& algorithm) {
    if (hosts.empty()) {
        return "(none)";
    }
    return util::join_bounded(hosts) + (algorithm.empty() ? " (no algorithm)" : "@" + algorithm);
}

// The agent-port client context presenting these credentials (CPU only: may
// run on the file worker). Defined in agent_startup.cpp.
Result<std::shared_ptr<SSL_CTX>> client_context_for(const Credentials& credentials);

}  // namespace agentlb::agent::detail
