#include "common/tls/session_tickets.hpp"

#include "certs/inspect.hpp"
#include "certs/revocation.hpp"
#include "common/tls/context_state.hpp"

#include <openssl/x509.h>

namespace agentlb::tls::detail {

namespace {

// Resumption skips the verify callback: refuse tickets whose client
// certificate has been revoked or has expired since, which forces a full
// handshake (and with it the full checks).
SSL_TICKET_RETURN check_agent_ticket(SSL* ssl, SSL_SESSION* session, SSL_TICKET_STATUS status) {
    const bool renew = status == SSL_TICKET_SUCCESS_RENEW;
    switch (status) {
        case SSL_TICKET_EMPTY:
        case SSL_TICKET_NO_DECRYPT:
            return SSL_TICKET_RETURN_IGNORE_RENEW;
        case SSL_TICKET_SUCCESS:
        case SSL_TICKET_SUCCESS_RENEW:
            break;
        default:
            return SSL_TICKET_RETURN_ABORT;
    }
    X509* peer = session != nullptr ? SSL_SESSION_get0_peer(session) : nullptr;
    if (peer == nullptr || X509_cmp_current_time(X509_get0_notAfter(peer)) < 1) {
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    }
    const ContextState* state = context_state(SSL_get_SSL_CTX(ssl));
    if (state != nullptr && state->revoked && state->revoked->is_revoked(certs::serial_of(peer))) {
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    }
    return renew ? SSL_TICKET_RETURN_USE_RENEW : SSL_TICKET_RETURN_USE;
}

}  // namespace

SSL_TICKET_RETURN decrypt_agent_ticket(SSL* ssl,
                                       SSL_SESSION* session,
                                       const unsigned char* /*keyname*/,
                                       std::size_t /*keyname_length*/,
                                       SSL_TICKET_STATUS status,
                                       void* /*arg*/) noexcept {
    try {
        return check_agent_ticket(ssl, session, status);
    } catch (...) {
        return SSL_TICKET_RETURN_IGNORE_RENEW;  // a full handshake checks everything
    }
}

}  // namespace agentlb::tls::detail
