#pragma once

// Every timeout of the agent port in one place, so the mgmt and agent sides
// agree and an operator finds them in one file (see DESIGN.md "Wire protocol").

#include <chrono>

namespace agentlb::tls {

// A peer that has not finished the TLS handshake by then is dropped.
inline constexpr std::chrono::seconds kHandshakeTimeout{10};

// Both sides ping this often and count a peer dead after this many missed beats.
inline constexpr std::chrono::seconds kHeartbeatInterval{10};
inline constexpr int kMissedHeartbeatsBeforeDead = 3;

// close_notify is a courtesy: a peer that does not drain its socket does not
// hold a closing session longer than this.
inline constexpr std::chrono::seconds kShutdownTimeout{2};

}  // namespace agentlb::tls
