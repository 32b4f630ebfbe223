#include "common/protocol/server_close_reason.hpp"

namespace agentlb::protocol {

std::string_view close_reason_text(CloseReason reason) noexcept {
    switch (reason) {
        case CloseReason::timeout:
            return "timeout";
        case CloseReason::handshake_failed:
            return "handshake_failed";
        case CloseReason::closed:
            return "closed";
        case CloseReason::no_hello:
            return "no_hello";
        case CloseReason::no_certificate:
            return "no_certificate";
        case CloseReason::identity_mismatch:
            return "identity_mismatch";
        case CloseReason::revoked:
            return "revoked";
        case CloseReason::bad_certificate:
            return "bad_certificate";
        case CloseReason::unknown_host:
            return "unknown_host";
        case CloseReason::store_error:
            return "store_error";
        case CloseReason::draining:
            return "draining";
        case CloseReason::peer_closed:
            return "peer_closed";
        case CloseReason::read_failed:
            return "read_failed";
        case CloseReason::bad_input:
            return "bad_input";
        case CloseReason::unexpected_message:
            return "unexpected_message";
        case CloseReason::silence:
            return "silence";
        case CloseReason::write_blocked:
            return "write_blocked";
        case CloseReason::slow_reader:
            return "slow_reader";
        case CloseReason::superseded:
            return "superseded";
        case CloseReason::drained:
            return "drained";
        case CloseReason::stopped:
            return "stopped";
        case CloseReason::write_failed:
            return "write_failed";
        case CloseReason::internal:
            return "internal";
    }
    return "unknown";
}

bool is_refusal(CloseReason reason) noexcept {
    switch (reason) {
        case CloseReason::timeout:
        case CloseReason::closed:
        case CloseReason::no_hello:
        case CloseReason::no_certificate:
        case CloseReason::identity_mismatch:
        case CloseReason::revoked:
        case CloseReason::bad_certificate:
        case CloseReason::unknown_host:
        case CloseReason::store_error:
        case CloseReason::draining:
            return true;
        default:
            return false;
    }
}

}  // namespace agentlb::protocol
