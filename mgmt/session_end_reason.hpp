#pragma once

// Why a welcomed agent session ended, as agentlb_sessions_ended_total counts
// it: the close reasons grouped into what an operator acts on.

#include "common/protocol/server_close_reason.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace agentlb::mgmt {

enum class SessionEndReason : std::uint8_t {
    agent_closed,      // the agent left (or its connection broke) on its own
    migrated,          // the agent left after this server sent `migrate`
    superseded,        // a newer session of the host on another server
    liveness_timeout,  // no frame within the heartbeat limit
    slow_agent,        // writes blocked, or too many frames waiting for the agent
    protocol_error,    // a frame or message the exchange cannot use
    revoked,           // the host was removed or its certificate revoked
    drained,           // a maintenance or shutdown drain ended before the agent moved
    shutdown,          // this server stopped
    write_failed,      // a write to the agent failed
    internal,          // our own bug
};

inline constexpr std::array<std::string_view, 11> kSessionEndReasonTexts{"agent_closed",
                                                                         "migrated",
                                                                         "superseded",
                                                                         "liveness_timeout",
                                                                         "slow_agent",
                                                                         "protocol_error",
                                                                         "revoked",
                                                                         "drained",
                                                                         "shutdown",
                                                                         "write_failed",
                                                                         "internal"};

// The reason a welcomed session that closed with `reason` is counted under;
// `migrate_sent`: this server had sent the agent `migrate`. Nothing for the
// reasons that only end a connection before welcome (refusals), which
// agentlb_handshakes_total counts.
std::optional<SessionEndReason> session_end_reason(protocol::CloseReason reason, bool migrate_sent);

}  // namespace agentlb::mgmt
