#include "common/tls/context.hpp"

#include "certs/fingerprint.hpp"
#include "certs/inspect.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "certs/verify.hpp"
#include "common/tls/context_state.hpp"
#include "common/tls/peer_verification.hpp"
#include "common/tls/session_tickets.hpp"
#include "common/tls/verify_detail.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <utility>

namespace agentlb::tls {

using detail::ContextState;

namespace {

constexpr const char* kCipherSuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* kGroups = "X25519:P-256";
constexpr unsigned char kAgentPortSessionContext[] = "agentlb-agent-port";
// Leaf + CA today; room for one intermediate later, nothing more to chase.
constexpr int kMaxVerifyDepth = 3;

// TLS 1.3 with the settings every agentlb context shares.
Result<SslCtxPtr> new_context(const SSL_METHOD* method) {
    // Registered here, not on first use inside a callback, where a failure
    // could not be reported.
    detail::context_state_index();
    detail::verify_detail_index();
    ERR_clear_error();
    SslCtxPtr ctx(SSL_CTX_new(method));
    if (!ctx) {
        return fail(certs::openssl_failure("cannot create a TLS context"));
    }
    SSL_CTX* c = ctx.get();
    if (SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_ciphersuites(c, kCipherSuites) != 1 || SSL_CTX_set1_groups_list(c, kGroups) != 1) {
        return fail(
            certs::openssl_failure("cannot restrict the TLS context to TLS 1.3 with our cipher suites"));
    }
    SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // How many tickets a server sends is set per context (the agent port: none).
    SSL_CTX_clear_options(c, SSL_OP_NO_TICKET);
    // RELEASE_BUFFERS: idle sessions give their 16 KiB+ record buffers back.
    // ACCEPT_MOVING_WRITE_BUFFER: a retried write may come from another address.
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // One recv() per record instead of two (header, then body): a small
    // frame (ping, ack) then costs one system call to read. The buffer is
    // still released once everything in it has been read.
    SSL_CTX_set_read_ahead(c, 1);
    SSL_CTX_set_verify_depth(c, kMaxVerifyDepth);
    return ctx;
}

Status use_certificate_and_key(SSL_CTX* ctx, const std::string& cert_pem, const std::string& key_pem) {
    auto cert = certs::parse_certificate_pem(cert_pem);
    if (!cert) {
        return fail("certificate: " + cert.error());
    }
    auto key = certs::parse_private_key_pem(key_pem);
    if (!key) {
        return fail("private key: " + key.error());
    }
    if (!certs::key_matches_certificate(key->get(), cert->get())) {
        return fail("the private key does not belong to the certificate");
    }
    ERR_clear_error();
    if (SSL_CTX_use_certificate(ctx, cert->get()) != 1) {
        return fail(certs::openssl_failure("the TLS context refuses the certificate"));
    }
    if (SSL_CTX_use_PrivateKey(ctx, key->get()) != 1) {
        return fail(certs::openssl_failure("the TLS context refuses the private key"));
    }
    return success();
}

// The certificate just installed must be usable for `purpose`, or every peer
// would refuse it: better to stop at start with a clear reason.
Status check_own_purpose(SSL_CTX* ctx, int purpose, const char* what) {
    X509* cert = SSL_CTX_get0_certificate(ctx);
    if (cert == nullptr || X509_check_purpose(cert, purpose, 0) != 1) {
        ERR_clear_error();
        return fail(std::string("the certificate is not valid for a TLS ") + what +
                    " (its extendedKeyUsage lacks " +
                    (purpose == X509_PURPOSE_SSL_SERVER ? "serverAuth" : "clientAuth") + ")");
    }
    return success();
}

// Sent after the leaf, in the order given (an intermediate, a cross-signed
// CA). Nothing when empty: OpenSSL then sends the leaf alone (or what the
// caller adds itself), never a chain it builds from the trust store.
Status send_chain(SSL_CTX* ctx, const std::string& chain_pem) {
    if (chain_pem.empty()) {
        return success();
    }
    auto chain = certs::parse_certificates_pem(chain_pem);
    if (!chain) {
        return fail("chain: " + chain.error());
    }
    for (const certs::X509Ptr& certificate : chain.value()) {
        ERR_clear_error();
        if (SSL_CTX_add1_chain_cert(ctx, certificate.get()) != 1) {
            return fail(certs::openssl_failure("cannot add a chain certificate (" +
                                               certs::common_name_of(certificate.get()) + ")"));
        }
    }
    return success();
}

Status trust_only(SSL_CTX* ctx, const std::string& ca_pem) {
    auto store = certs::make_ca_store(ca_pem);
    if (!store) {
        return fail("CA certificate: " + store.error());
    }
    SSL_CTX_set_cert_store(ctx, store->release());  // takes ownership
    return success();
}

}  // namespace

void SslCtxDeleter::operator()(SSL_CTX* ctx) const noexcept {
    SSL_CTX_free(ctx);
}

Result<SslCtxPtr> make_agent_port_server_context(const AgentPortServerConfig& config) {
    auto ctx = new_context(TLS_server_method());
    if (!ctx) {
        return ctx;
    }
    SSL_CTX* c = ctx->get();
    if (auto status = use_certificate_and_key(c, config.cert_pem, config.key_pem); !status) {
        return fail("agent port: " + status.error());
    }
    if (auto status = check_own_purpose(c, X509_PURPOSE_SSL_SERVER, "server"); !status) {
        return fail("agent port: " + status.error());
    }
    if (auto status = send_chain(c, config.chain_pem); !status) {
        return fail("agent port: " + status.error());
    }
    if (auto status = trust_only(c, config.ca_pem); !status) {
        return fail("agent port: " + status.error());
    }
    if (auto status = detail::attach_state(c, ContextState{config.revoked, {}, config.ticket_keys});
        !status) {
        return fail("agent port: " + status.error());
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, detail::verify_agent_client);
    // Without a session id context OpenSSL fails (not just declines) the
    // handshake of a client that tries to resume while SSL_VERIFY_PEER is set.
    SSL_CTX_set_session_id_context(c, kAgentPortSessionContext, sizeof kAgentPortSessionContext - 1);
    // TLS 1.3 tickets are self-contained: no server-side store is needed, so
    // keep none (it would hold a peer certificate per session).
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_cache_size(c, 1);
    SSL_CTX_set_num_tickets(c, config.session_tickets);
    if (SSL_CTX_set_session_ticket_cb(c, nullptr, detail::decrypt_agent_ticket, nullptr) != 1) {
        return fail(certs::openssl_failure("agent port: cannot install the session ticket check"));
    }
    if (config.ticket_keys && SSL_CTX_set_tlsext_ticket_key_evp_cb(c, detail::ticket_key_callback) != 1) {
        return fail(certs::openssl_failure("agent port: cannot install the shared session ticket keys"));
    }
    return ctx;
}

Result<SslCtxPtr> make_agent_client_context(const AgentClientConfig& config) {
    auto ctx = new_context(TLS_client_method());
    if (!ctx) {
        return ctx;
    }
    SSL_CTX* c = ctx->get();
    if (auto status = use_certificate_and_key(c, config.cert_pem, config.key_pem); !status) {
        return fail("agent client: " + status.error());
    }
    if (auto status = check_own_purpose(c, X509_PURPOSE_SSL_CLIENT, "client"); !status) {
        return fail("agent client: " + status.error());
    }
    if (auto status = send_chain(c, config.chain_pem); !status) {
        return fail("agent client: " + status.error());
    }
    if (auto status = trust_only(c, config.ca_pem); !status) {
        return fail("agent client: " + status.error());
    }
    // OpenSSL's default purpose for a client checks serverAuth on the leaf.
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    return ctx;
}

Result<SslCtxPtr> make_enroll_server_context(const std::string& cert_pem,
                                             const std::string& key_pem,
                                             const std::string& ca_pem,
                                             const std::string& chain_pem) {
    auto ctx = new_context(TLS_server_method());
    if (!ctx) {
        return ctx;
    }
    SSL_CTX* c = ctx->get();
    if (auto status = use_certificate_and_key(c, cert_pem, key_pem); !status) {
        return fail("enrollment port: " + status.error());
    }
    if (auto status = check_own_purpose(c, X509_PURPOSE_SSL_SERVER, "server"); !status) {
        return fail("enrollment port: " + status.error());
    }
    if (auto status = send_chain(c, chain_pem); !status) {
        return fail("enrollment port: " + status.error());
    }
    auto ca = certs::parse_certificate_pem(ca_pem);
    if (!ca) {
        return fail("enrollment port: CA certificate: " + ca.error());
    }
    ERR_clear_error();
    // The new agent pins the CA: it must travel in the chain.
    if (SSL_CTX_add1_chain_cert(c, ca->get()) != 1) {
        return fail(certs::openssl_failure("enrollment port: cannot add the CA certificate to the chain"));
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    // Enrollment is one exchange per agent: nothing to resume.
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(c, 0);
    return ctx;
}

Result<SslCtxPtr> make_enroll_client_context(std::string pinned_ca_fingerprint) {
    auto pin = certs::normalize_fingerprint(pinned_ca_fingerprint);
    if (!pin) {
        return fail("pinned CA fingerprint: " + pin.error());
    }
    auto ctx = new_context(TLS_client_method());
    if (!ctx) {
        return ctx;
    }
    SSL_CTX* c = ctx->get();
    if (auto status = detail::attach_state(c, ContextState{nullptr, std::move(pin.value())}); !status) {
        return fail("enrollment client: " + status.error());
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_cert_verify_callback(c, detail::verify_pinned_server, nullptr);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    return ctx;
}

namespace {

// What both ends of the peer link share: this server's certificate, sent
// with its chain, and only our CAs trusted.
Result<SslCtxPtr> new_peer_context(const SSL_METHOD* method, const PeerLinkConfig& config) {
    auto ctx = new_context(method);
    if (!ctx) {
        return ctx;
    }
    SSL_CTX* c = ctx->get();
    if (auto status = use_certificate_and_key(c, config.cert_pem, config.key_pem); !status) {
        return fail("peer link: " + status.error());
    }
    if (auto status = check_own_purpose(c, X509_PURPOSE_SSL_SERVER, "server"); !status) {
        return fail("peer link: " + status.error());
    }
    if (auto status = check_own_purpose(c, X509_PURPOSE_SSL_CLIENT, "client"); !status) {
        return fail("peer link: " + status.error());
    }
    if (auto status = send_chain(c, config.chain_pem); !status) {
        return fail("peer link: " + status.error());
    }
    if (auto status = trust_only(c, config.ca_pem); !status) {
        return fail("peer link: " + status.error());
    }
    if (auto status = detail::attach_state(c, ContextState{config.revoked, {}}); !status) {
        return fail("peer link: " + status.error());
    }
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(c, 0);
    return ctx;
}

}  // namespace

Result<SslCtxPtr> make_peer_server_context(const PeerLinkConfig& config) {
    auto ctx = new_peer_context(TLS_server_method(), config);
    if (ctx) {
        SSL_CTX_set_verify(
            ctx->get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, detail::verify_server_peer);
    }
    return ctx;
}

Result<SslCtxPtr> make_peer_client_context(const PeerLinkConfig& config) {
    auto ctx = new_peer_context(TLS_client_method(), config);
    if (ctx) {
        // OpenSSL's default purpose for a client checks serverAuth on the
        // leaf, which an agent's certificate lacks; check_leaf says why.
        SSL_CTX_set_verify(ctx->get(), SSL_VERIFY_PEER, detail::verify_server_peer);
    }
    return ctx;
}

certs::X509Ptr peer_certificate(const SSL* ssl) {
    return certs::X509Ptr(SSL_get1_peer_certificate(ssl));
}

}  // namespace agentlb::tls
