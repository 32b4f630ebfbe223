#pragma once

// Private to agentlb_tls: the certificate checks our contexts install
// (SSL_CTX_set_verify, SSL_CTX_set_cert_verify_callback). They run inside
// OpenSSL's C frames, so they never throw; a failure to allocate refuses the
// peer.

#include <openssl/types.h>

namespace agentlb::tls::detail {

// Agent port server: after OpenSSL's own check of each certificate of the
// client's chain, requires an agent certificate that is not revoked.
int verify_agent_client(int preverify_ok, X509_STORE_CTX* store_ctx) noexcept;

// Either end of the peer link between servers: after OpenSSL's own check of
// each certificate of the other end's chain, requires a server certificate
// that is not revoked.
int verify_server_peer(int preverify_ok, X509_STORE_CTX* store_ctx) noexcept;

// Enrollment client: replaces OpenSSL's chain verification; the trust anchor
// is the CA certificate the server sent, accepted by its pinned fingerprint.
int verify_pinned_server(X509_STORE_CTX* store_ctx, void* arg) noexcept;

}  // namespace agentlb::tls::detail
