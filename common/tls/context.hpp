#pragma once

// The one factory of TLS contexts for agentlb's two ports:
// - the agent port (8250): TLS 1.3 only, mutual authentication against our CA,
//   revoked serials refused during the handshake;
// - the enrollment port (8251): server authentication only; a new agent has no
//   CA yet and accepts the server when the CA in the server's chain matches
//   the fingerprint the operator gave it.
//
// All contexts set SSL_MODE_RELEASE_BUFFERS so that idle sessions release
// their record buffers (see stream.hpp). A context is shared by all sessions
// of a listener and may be used from several threads.

#include "certs/handles.hpp"
#include "common/util/result.hpp"

#include <openssl/types.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace agentlb::certs {
class RevocationList;
}

namespace agentlb::tls {

class TicketKeyRing;

struct SslCtxDeleter {
    void operator()(SSL_CTX* ctx) const noexcept;
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

struct AgentPortServerConfig {
    std::string ca_pem;    // the only trust anchor(s) for client certificates (one PEM or a bundle)
    std::string cert_pem;  // this server's certificate (serverAuth)
    std::string key_pem;
    // Serials refused at the handshake; may be null. Consulted in memory only,
    // so its owner refreshes it from the store. Kept alive by the context.
    std::shared_ptr<const certs::RevocationList> revoked;
    // TLS 1.3 tickets sent within each full handshake. With OpenSSL 3.0
    // building a ticket costs about a fifth of the server's CPU per
    // handshake (docs/BENCHMARKS.md), so agentlb-mgmt sends none there: it
    // sends one after `welcome` (server_tickets.hpp). Some tests set 1.
    std::size_t session_tickets = 0;
    // Certificates sent after the leaf (PEM, in order): an intermediate or a
    // cross-signed CA; empty: the leaf alone.
    std::string chain_pem{};
    // The keys that encrypt and decrypt session tickets, shared by every
    // context of a server and, through the store, by every server, so that
    // a ticket from one resumes on another (common/tls/ticket_keys.hpp).
    // Null: OpenSSL's own random keys of this context (no resumption
    // elsewhere, nor after the context is rebuilt).
    std::shared_ptr<TicketKeyRing> ticket_keys{};
};

// TLS 1.3 only; client certificate required, chained to ca_pem, and
// an agent certificate (extendedKeyUsage clientAuth, not serverAuth: see
// certs::check_leaf), and not revoked. With session_tickets > 0 a client may
// resume: a resumed session skips the certificate checks, so callers check
// peer_certificate() again after the handshake (a ticket whose certificate is
// revoked or expired is not accepted, which forces a full handshake, but
// revocations after the handshake are the caller's).
Result<SslCtxPtr> make_agent_port_server_context(const AgentPortServerConfig& config);

struct AgentClientConfig {
    std::string ca_pem;    // trust anchor(s) for server certificates (one PEM or a bundle)
    std::string cert_pem;  // this agent's certificate (clientAuth)
    std::string key_pem;
    std::string chain_pem{};  // sent after the leaf (PEM, in order); empty: the leaf alone
};

// TLS 1.3 only; the server's chain must verify against ca_pem and carry the
// dialled name or address (set per connection: set_expected_server()).
Result<SslCtxPtr> make_agent_client_context(const AgentClientConfig& config);

// TLS 1.3 only, no client certificate requested; sends the leaf, chain_pem
// (if any) and the (first) CA certificate of ca_pem so that a new agent can
// compare the CA with its pin.
Result<SslCtxPtr> make_enroll_server_context(const std::string& cert_pem,
                                             const std::string& key_pem,
                                             const std::string& ca_pem,
                                             const std::string& chain_pem = {});

// Accepts the server only when its chain holds a self-signed CA whose
// fingerprint is `pinned_ca_fingerprint` (any form certs::normalize_fingerprint
// accepts) and its leaf verifies against that CA for serverAuth. The dialled
// name is not checked: the pin is the trust anchor. On refusal the handshake
// fails with "certificate verify failed" and describe_verify_failure() says why.
Result<SslCtxPtr> make_enroll_client_context(std::string pinned_ca_fingerprint);

// The peer link between management servers (issue 19: app messages for a
// host or an application on another server). Both ends present their server
// certificate (serverAuth + clientAuth) and accept only a server certificate
// chained to ca_pem: an agent's is refused at the handshake, whichever end it
// is at. No resumption: a server holds one link per peer, for hours.
struct PeerLinkConfig {
    std::string ca_pem;    // the cluster's trust anchor(s)
    std::string cert_pem;  // this server's certificate
    std::string key_pem;
    std::string chain_pem{};  // sent after the leaf
    // Serials refused at the handshake; may be null.
    std::shared_ptr<const certs::RevocationList> revoked{};
};

// The accepting end: TLS 1.3 only; a client certificate is required and
// must be a server certificate (certs::check_leaf), not revoked.
Result<SslCtxPtr> make_peer_server_context(const PeerLinkConfig& config);
// The dialling end: TLS 1.3 only; the other server's certificate must
// verify for serverAuth and carry the dialled address (set_expected_server()).
Result<SslCtxPtr> make_peer_client_context(const PeerLinkConfig& config);

// Which name or address the server's certificate must carry: "host",
// "host:port", "10.0.0.1", "10.0.0.1:8250", "[::1]:8250" or "::1" (the port is
// ignored). Addresses are matched against IP subjectAltNames, names against DNS
// ones (also sent as SNI). Call before the handshake.
Status set_expected_server(SSL* ssl, std::string_view server);

// Why certificate verification failed on this session, for a log line:
// our own reason when one of our checks refused ("client certificate
// revoked (serial ab12)", "server CA fingerprint sha256:.. does not match pinned
// sha256:.."), otherwise OpenSSL's verify result ("certificate has expired",
// "IP address mismatch (expected 10.0.0.1)"); "" when nothing failed.
std::string describe_verify_failure(SSL* ssl);

// The peer's certificate (also after resumption); null when it sent none.
certs::X509Ptr peer_certificate(const SSL* ssl);

}  // namespace agentlb::tls
