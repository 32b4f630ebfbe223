#pragma once

// Why an agent-port session ends on the server (protocol::ServerMachine's
// Close), and the names the server counts and logs it under.

#include <cstdint>
#include <string_view>

namespace agentlb::protocol {

// Why a session ends. The reasons before welcome are refusals (is_refusal()),
// counted under close_reason_text() in agentlb_handshakes_total.
enum class CloseReason : std::uint8_t {
    // Before welcome.
    timeout,           // no TLS handshake in time
    handshake_failed,  // the TLS handshake failed (the driver classified and logged it)
    closed,            // the peer left before hello
    no_hello,          // no hello in time, a bad frame, or another message first
    no_certificate,
    identity_mismatch,
    revoked,  // also after welcome: the host was removed or its serial revoked
    bad_certificate,
    unknown_host,
    store_error,
    draining,  // the server takes no agents now (maintenance, shutting down)
    // After welcome.
    peer_closed,         // the agent left (routine)
    read_failed,         // the read failed, or the agent left in the middle of a frame
    bad_input,           // a frame or message we cannot use
    unexpected_message,  // a message the exchange does not allow here
    silence,             // no frame for the heartbeat limit
    write_blocked,       // a write blocked for the heartbeat limit
    slow_reader,         // too many frames waiting to be written
    superseded,          // a newer session of this host elsewhere
    drained,             // a maintenance or shutdown drain ended before the agent moved
    // Either.
    stopped,       // the driver closed it (server shutdown)
    write_failed,  // the driver's write failed
    internal,      // our own bug (a message we cannot frame)
};

// "timeout", "no_hello", "unknown_host", ...: the agentlb_handshakes_total
// label of a refusal; a stable name for the others.
std::string_view close_reason_text(CloseReason reason) noexcept;

// The reasons a connection is refused before welcome: logged "refused <who>:
// <label>: ..." and counted under their label. Not handshake_failed, which
// the driver classifies and counts with the TLS layer's finer reason.
bool is_refusal(CloseReason reason) noexcept;

}  // namespace agentlb::protocol
