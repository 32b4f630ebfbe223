#include "common/tls/peer_verification.hpp"

#include "certs/fingerprint.hpp"
#include "certs/handles.hpp"
#include "certs/inspect.hpp"
#include "certs/revocation.hpp"
#include "certs/verify.hpp"
#include "common/tls/context_state.hpp"
#include "common/tls/verify_detail.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <string>
#include <utility>

namespace agentlb::tls::detail {

namespace {

SSL* ssl_of(X509_STORE_CTX* store_ctx) {
    return static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
}

// Runs after OpenSSL's own check of each certificate of the chain (CA first,
// leaf last). Never does I/O: the revocation list is in memory.
int check_peer_leaf(int preverify_ok, X509_STORE_CTX* store_ctx, certs::CertificateKind expected) {
    if (preverify_ok != 1) {
        return 0;
    }
    if (X509_STORE_CTX_get_error_depth(store_ctx) != 0) {
        return 1;
    }
    X509* cert = X509_STORE_CTX_get_current_cert(store_ctx);
    SSL* ssl = ssl_of(store_ctx);
    if (cert == nullptr || ssl == nullptr) {
        return 0;
    }
    // OpenSSL's purpose check lets through a certificate without
    // extendedKeyUsage, and a server's certificate (serverAuth+clientAuth)
    // as a client's: neither is an agent's, and an agent's is no server's.
    if (auto usage = certs::check_leaf(cert, nullptr, expected); !usage) {
        X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_INVALID_PURPOSE);
        set_verify_detail(ssl, (SSL_is_server(ssl) != 0 ? "client " : "server ") + usage.error());
        return 0;
    }
    const ContextState* state = context_state(SSL_get_SSL_CTX(ssl));
    if (state != nullptr && state->revoked) {
        const std::string serial = certs::serial_of(cert);
        if (state->revoked->is_revoked(serial)) {
            X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_CERT_REVOKED);
            set_verify_detail(ssl,
                              std::string(SSL_is_server(ssl) != 0 ? "client" : "server") +
                                  " certificate revoked (serial " + serial + ")");
            return 0;
        }
    }
    return 1;
}

bool is_self_signed_ca(X509* cert) {
    return X509_check_ca(cert) > 0 && X509_self_signed(cert, 1) == 1;
}

// Replaces OpenSSL's chain verification on the enrollment client: the trust
// anchor is the CA certificate the server sent, accepted by its fingerprint.
int check_pinned_server(X509_STORE_CTX* store_ctx) {
    SSL* ssl = ssl_of(store_ctx);
    const ContextState* state = ssl != nullptr ? context_state(SSL_get_SSL_CTX(ssl)) : nullptr;
    X509* leaf = X509_STORE_CTX_get0_cert(store_ctx);
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_untrusted(store_ctx);
    if (state == nullptr || leaf == nullptr) {
        X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_UNSPECIFIED);
        return 0;
    }
    const std::string& pin = state->pinned_fingerprint;
    X509* ca = nullptr;
    std::string other;
    for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
        X509* cert = sk_X509_value(chain, i);
        if (cert == leaf || !is_self_signed_ca(cert)) {
            continue;
        }
        std::string fingerprint = certs::fingerprint_of(cert);
        if (certs::fingerprint_equal(fingerprint, pin)) {
            ca = cert;
            break;
        }
        other = std::move(fingerprint);
    }
    ERR_clear_error();
    if (ca == nullptr) {
        X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_APPLICATION_VERIFICATION);
        set_verify_detail(ssl,
                          other.empty() ? "server sent no CA certificate to compare with the pinned " + pin
                                        : "server CA fingerprint " + other + " does not match pinned " + pin);
        return 0;
    }
    certs::X509StorePtr store(X509_STORE_new());
    certs::X509StoreCtxPtr check(X509_STORE_CTX_new());
    if (!store || !check || X509_STORE_add_cert(store.get(), ca) != 1 ||
        X509_STORE_CTX_init(check.get(), store.get(), leaf, chain) != 1 ||
        X509_STORE_CTX_set_default(check.get(), "ssl_server") != 1) {
        X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_OUT_OF_MEM);
        set_verify_detail(ssl, "out of memory while checking the server certificate");
        return 0;
    }
    if (X509_verify_cert(check.get()) != 1) {
        const int error = X509_STORE_CTX_get_error(check.get());
        X509_STORE_CTX_set_error(store_ctx, error);
        set_verify_detail(ssl,
                          std::string("server certificate does not verify against the pinned CA: ") +
                              X509_verify_cert_error_string(error));
        ERR_clear_error();
        return 0;
    }
    X509_STORE_CTX_set_error(store_ctx, X509_V_OK);
    return 1;
}

}  // namespace

// The callbacks OpenSSL calls: C frames, so nothing may propagate out of them
// (our checks allocate strings). A failure to allocate refuses the peer.
int verify_agent_client(int preverify_ok, X509_STORE_CTX* store_ctx) noexcept {
    try {
        return check_peer_leaf(preverify_ok, store_ctx, certs::CertificateKind::agent);
    } catch (...) {
        X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_OUT_OF_MEM);
        return 0;
    }
}

int verify_server_peer(int preverify_ok, X509_STORE_CTX* store_ctx) noexcept {
    try {
        return check_peer_leaf(preverify_ok, store_ctx, certs::CertificateKind::server);
    } catch (...) {
        X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_OUT_OF_MEM);
        return 0;
    }
}

int verify_pinned_server(X509_STORE_CTX* store_ctx, void* /*arg*/) noexcept {
    try {
        return check_pinned_server(store_ctx);
    } catch (...) {
        X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_OUT_OF_MEM);
        return 0;
    }
}

}  // namespace agentlb::tls::detail
