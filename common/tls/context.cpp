#include "common/tls/context.hpp"

#include "certs/fingerprint.hpp"
#include "certs/inspect.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "certs/revocation.hpp"
#include "certs/verify.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <stdexcept>
#include <utility>

namespace agentlb::tls {

namespace {

constexpr const char* kCipherSuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* kGroups = "X25519:P-256";
constexpr unsigned char kAgentPortSessionContext[] = "agentlb-agent-port";
// Leaf + CA today; room for one intermediate later, nothing more to chase.
constexpr int kMaxVerifyDepth = 3;

// What our callbacks need, owned by the SSL_CTX (freed with it, which is after
// the last session using it).
struct ContextState {
    std::shared_ptr<const certs::RevocationList> revoked;
    std::string pinned_fingerprint;  // enrollment client only, normalized
};

void free_context_state(
    void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/, void* /*argp*/) {
    delete static_cast<ContextState*>(ptr);
}

void free_detail(
    void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/, void* /*argp*/) {
    delete static_cast<std::string*>(ptr);
}

int context_state_index() {
    static const int index = [] {
        const int i = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_context_state);
        if (i < 0) {
            throw std::runtime_error("OpenSSL: cannot register SSL_CTX ex_data index");
        }
        return i;
    }();
    return index;
}

// Per-session reason set by our verify callbacks; allocated only on refusal,
// so an idle session carries nothing.
int verify_detail_index() {
    static const int index = [] {
        const int i = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_detail);
        if (i < 0) {
            throw std::runtime_error("OpenSSL: cannot register SSL ex_data index");
        }
        return i;
    }();
    return index;
}

const ContextState* context_state(const SSL_CTX* ctx) {
    return static_cast<const ContextState*>(SSL_CTX_get_ex_data(ctx, context_state_index()));
}

void set_verify_detail(SSL* ssl, std::string text) {
    auto* existing = static_cast<std::string*>(SSL_get_ex_data(ssl, verify_detail_index()));
    if (existing != nullptr) {
        *existing = std::move(text);
        return;
    }
    auto* detail = new std::string(std::move(text));
    if (SSL_set_ex_data(ssl, verify_detail_index(), detail) != 1) {
        delete detail;
    }
}

SSL* ssl_of(X509_STORE_CTX* store_ctx) {
    return static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
}

Status attach_state(SSL_CTX* ctx, ContextState state) {
    auto* owned = new ContextState(std::move(state));
    if (SSL_CTX_set_ex_data(ctx, context_state_index(), owned) != 1) {
        delete owned;
        return fail(certs::openssl_failure("cannot attach state to the TLS context"));
    }
    return success();
}

// TLS 1.3 with the settings every agentlb context shares.
Result<SslCtxPtr> new_context(const SSL_METHOD* method) {
    // Registered here, not on first use inside a callback, where a failure
    // could not be reported.
    context_state_index();
    verify_detail_index();
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
    // Tickets let an agent reconnect with a cheap resumption.
    SSL_CTX_clear_options(c, SSL_OP_NO_TICKET);
    // RELEASE_BUFFERS: idle sessions give their 16 KiB+ record buffers back.
    // ACCEPT_MOVING_WRITE_BUFFER: a retried write may come from another address.
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
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

Status trust_only(SSL_CTX* ctx, const std::string& ca_pem) {
    auto store = certs::make_ca_store(ca_pem);
    if (!store) {
        return fail("CA certificate: " + store.error());
    }
    SSL_CTX_set_cert_store(ctx, store->release());  // takes ownership
    return success();
}

// Runs after OpenSSL's own check of each certificate of the chain (CA first,
// leaf last). Never does I/O: the revocation list is in memory.
int check_agent_client(int preverify_ok, X509_STORE_CTX* store_ctx) {
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
    // extendedKeyUsage, and a server's certificate (serverAuth+clientAuth):
    // neither is an agent's.
    if (auto usage = certs::check_leaf(cert, nullptr, certs::CertificateKind::agent); !usage) {
        X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_INVALID_PURPOSE);
        set_verify_detail(ssl, "client " + usage.error());
        return 0;
    }
    const ContextState* state = context_state(SSL_get_SSL_CTX(ssl));
    if (state != nullptr && state->revoked) {
        const std::string serial = certs::serial_of(cert);
        if (state->revoked->is_revoked(serial)) {
            X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_CERT_REVOKED);
            set_verify_detail(ssl, "client certificate revoked (serial " + serial + ")");
            return 0;
        }
    }
    return 1;
}

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

// The callbacks OpenSSL calls: C frames, so nothing may propagate out of them
// (our checks allocate strings). A failure to allocate refuses the peer.
int verify_agent_client(int preverify_ok, X509_STORE_CTX* store_ctx) noexcept {
    try {
        return check_agent_client(preverify_ok, store_ctx);
    } catch (...) {
        X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_OUT_OF_MEM);
        return 0;
    }
}

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

int verify_pinned_server(X509_STORE_CTX* store_ctx, void* /*arg*/) noexcept {
    try {
        return check_pinned_server(store_ctx);
    } catch (...) {
        X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_OUT_OF_MEM);
        return 0;
    }
}

bool is_ip_address(const std::string& host) {
    unsigned char buffer[16];
    return inet_pton(AF_INET, host.c_str(), buffer) == 1 || inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

bool all_digits(std::string_view text) {
    if (text.empty()) {
        return false;
    }
    for (char c : text) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

// "host", "host:port", "[v6]", "[v6]:port", or a bare IPv6 address -> host.
Result<std::string> host_without_port(std::string_view server) {
    const std::string quoted = "'" + std::string(server) + "'";
    if (server.empty()) {
        return fail("no server name or address to check the server certificate against");
    }
    if (server.front() == '[') {
        const auto close = server.find(']');
        if (close == std::string_view::npos || close == 1) {
            return fail("server address " + quoted + " has an unterminated or empty '['");
        }
        const std::string_view rest = server.substr(close + 1);
        if (!rest.empty() && (rest.front() != ':' || !all_digits(rest.substr(1)))) {
            return fail("server address " + quoted + " has something other than ':port' after ']'");
        }
        return std::string(server.substr(1, close - 1));
    }
    const auto colon = server.find(':');
    if (colon == std::string_view::npos || server.find(':', colon + 1) != std::string_view::npos) {
        return std::string(server);  // a name, an IPv4 address, or a bare IPv6 address
    }
    if (colon == 0 || !all_digits(server.substr(colon + 1))) {
        return fail("server address " + quoted + " is not host:port");
    }
    return std::string(server.substr(0, colon));
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
    if (auto status = trust_only(c, config.ca_pem); !status) {
        return fail("agent port: " + status.error());
    }
    if (auto status = attach_state(c, ContextState{config.revoked, {}}); !status) {
        return fail("agent port: " + status.error());
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_agent_client);
    // Without a session id context OpenSSL fails (not just declines) the
    // handshake of a client that tries to resume while SSL_VERIFY_PEER is set.
    SSL_CTX_set_session_id_context(c, kAgentPortSessionContext, sizeof kAgentPortSessionContext - 1);
    // TLS 1.3 tickets are self-contained: no server-side store is needed, so
    // keep none (it would hold a peer certificate per session).
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_cache_size(c, 1);
    SSL_CTX_set_num_tickets(c, config.session_tickets);
    if (SSL_CTX_set_session_ticket_cb(c, nullptr, decrypt_agent_ticket, nullptr) != 1) {
        return fail(certs::openssl_failure("agent port: cannot install the session ticket check"));
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
                                             const std::string& ca_pem) {
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
    if (auto status = attach_state(c, ContextState{nullptr, std::move(pin.value())}); !status) {
        return fail("enrollment client: " + status.error());
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_cert_verify_callback(c, verify_pinned_server, nullptr);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    return ctx;
}

Status set_expected_server(SSL* ssl, std::string_view server) {
    auto host = host_without_port(server);
    if (!host) {
        return fail(host.error());
    }
    ERR_clear_error();
    if (is_ip_address(*host)) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host->c_str()) != 1) {
            return fail(certs::openssl_failure("cannot expect server address " + *host));
        }
        return success();
    }
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(ssl, host->c_str()) != 1) {
        return fail(certs::openssl_failure("cannot expect server name '" + *host + "'"));
    }
    if (SSL_set_tlsext_host_name(ssl, host->c_str()) != 1) {
        return fail(certs::openssl_failure("cannot send server name '" + *host + "'"));
    }
    return success();
}

std::string describe_verify_failure(SSL* ssl) {
    if (ssl == nullptr) {
        return {};
    }
    if (const auto* detail = static_cast<const std::string*>(SSL_get_ex_data(ssl, verify_detail_index()));
        detail != nullptr && !detail->empty()) {
        return *detail;
    }
    const long result = SSL_get_verify_result(ssl);
    if (result == X509_V_OK) {
        return {};
    }
    std::string text = X509_verify_cert_error_string(result);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (result == X509_V_ERR_HOSTNAME_MISMATCH) {
        if (const char* host = X509_VERIFY_PARAM_get0_host(param, 0)) {
            text += " (expected ";
            text += host;
            text += ')';
        }
    } else if (result == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        if (certs::OpensslStringPtr ip{X509_VERIFY_PARAM_get1_ip_asc(param)}) {
            text += " (expected ";
            text += ip.get();
            text += ')';
        }
    }
    return text;
}

certs::X509Ptr peer_certificate(const SSL* ssl) {
    return certs::X509Ptr(SSL_get1_peer_certificate(ssl));
}

}  // namespace agentlb::tls
