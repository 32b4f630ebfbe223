#include "mgmt/session_end_reason.hpp"

namespace agentlb::mgmt {

std::optional<SessionEndReason> session_end_reason(protocol::CloseReason reason, bool migrate_sent) {
    using protocol::CloseReason;
    switch (reason) {
        case CloseReason::peer_closed:
        case CloseReason::read_failed:
            return migrate_sent ? SessionEndReason::migrated : SessionEndReason::agent_closed;
        case CloseReason::superseded:
            return SessionEndReason::superseded;
        case CloseReason::silence:
            return SessionEndReason::liveness_timeout;
        case CloseReason::write_blocked:
        case CloseReason::slow_reader:
            return SessionEndReason::slow_agent;
        case CloseReason::bad_input:
        case CloseReason::unexpected_message:
            return SessionEndReason::protocol_error;
        case CloseReason::revoked:
            return SessionEndReason::revoked;
        case CloseReason::drained:
            return SessionEndReason::drained;
        case CloseReason::stopped:
            return SessionEndReason::shutdown;
        case CloseReason::write_failed:
            return SessionEndReason::write_failed;
        case CloseReason::internal:
            return SessionEndReason::internal;
        case CloseReason::timeout:
        case CloseReason::handshake_failed:
        case CloseReason::closed:
        case CloseReason::no_hello:
        case CloseReason::no_certificate:
        case CloseReason::identity_mismatch:
        case CloseReason::bad_certificate:
        case CloseReason::unknown_host:
        case CloseReason::store_error:
        case CloseReason::draining:
            return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace agentlb::mgmt
