#pragma once

// Private to agentlb_tls: the agent port's check of TLS 1.3 session tickets
// (SSL_CTX_set_session_ticket_cb). Runs inside OpenSSL's C frames, so it
// never throws.

#include <openssl/ssl.h>

#include <cstddef>

namespace agentlb::tls::detail {

// Resumption skips the verify callback: a ticket whose client certificate has
// been revoked or has expired since is refused, which forces a full handshake
// (and with it the full checks).
SSL_TICKET_RETURN decrypt_agent_ticket(SSL* ssl,
                                       SSL_SESSION* session,
                                       const unsigned char* keyname,
                                       std::size_t keyname_length,
                                       SSL_TICKET_STATUS status,
                                       void* arg) noexcept;

// SSL_CTX_set_tlsext_ticket_key_evp_cb: the context's TicketKeyRing
// (ContextState::ticket_keys) names, encrypts and decrypts tickets.
int ticket_key_callback(SSL* ssl,
                        unsigned char* key_name,
                        unsigned char* iv,
                        EVP_CIPHER_CTX* cipher_ctx,
                        EVP_MAC_CTX* mac_ctx,
                        int encrypt) noexcept;

}  // namespace agentlb::tls::detail
