#include "common/tls/session_tickets.hpp"

#include "certs/inspect.hpp"
#include "certs/revocation.hpp"
#include "common/tls/context_state.hpp"
#include "common/tls/ticket_keys.hpp"

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

int ticket_key_callback(SSL* ssl,
                        unsigned char* key_name,
                        unsigned char* iv,
                        EVP_CIPHER_CTX* cipher_ctx,
                        EVP_MAC_CTX* mac_ctx,
                        int encrypt) noexcept {
    const ContextState* state = context_state(SSL_get_SSL_CTX(ssl));
    if (state == nullptr || !state->ticket_keys) {
        return 0;  // not installed without a ring; no ticket rather than a bad one
    }
    return state->ticket_keys->process(key_name, iv, cipher_ctx, mac_ctx, encrypt != 0);
}

}  // namespace agentlb::tls::detail
