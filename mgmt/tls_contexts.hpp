#pragma once

// This server's TLS identity as the listeners use it: the agent-port and
// enrollment-port contexts built from one certificate and key. A renewal
// builds a new pair and installs it; a connection accepted afterwards uses
// the new one, while sessions keep the context they started with (each SSL
// holds a reference to its SSL_CTX), so no session is dropped.

#include "certs/ca.hpp"
#include "certs/revocation.hpp"
#include "common/tls/context.hpp"
#include "common/util/result.hpp"
#include "mgmt/ca_set.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace agentlb::mgmt {

struct ServerCredentials;

struct ServerTls {
    tls::SslCtxPtr agent;
    tls::SslCtxPtr enroll;
    // Both ends of the peer link between servers (issue 19).
    tls::SslCtxPtr peer_server;
    tls::SslCtxPtr peer_client;
    std::string serial;  // of this server's certificate, lowercase hex
    std::int64_t not_before = 0;
    std::int64_t not_after = 0;
    // What it was made from, to make it again with another trust set (a CA rotation).
    std::string certificate_pem;
    std::string key_pem;             // secret: never log
    std::string issuer_fingerprint;  // the CA that issued this server's certificate
};

// Both contexts from one certificate and key, issued by `issuer_fingerprint`;
// the trust anchors and the chain sent after the certificate come from `cas`
// (every CA the cluster trusts; the cross certificate during a rotation; an
// imported CA's intermediates). Client certificates are trusted as issued by
// our CAs, even an imported one: the organisation's root vouches for far more
// than our hosts. `revoked` is shared with every agent-port context
// (refreshed in place with each snapshot), and so is `ticket_keys` (the
// session ticket keys, refreshed from the store: ticket_key_refresh.hpp), so
// a ticket outlives the context that made it.
Result<std::shared_ptr<const ServerTls>> make_server_tls(const ServerCredentials& credentials,
                                                         const std::string& issuer_fingerprint,
                                                         const CaView& cas,
                                                         std::shared_ptr<const certs::RevocationList> revoked,
                                                         std::shared_ptr<tls::TicketKeyRing> ticket_keys);

// Thread-safe holder: any thread reads, the renewal installs.
class TlsContexts {
public:
    std::shared_ptr<const ServerTls> current() const;
    void install(std::shared_ptr<const ServerTls> tls);

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const ServerTls> current_;
};

// What /healthz, /v1/status and the log say about certificates expiring
// within ca.framework.cert.expiry.alert.period ("this server's certificate
// expires on ..."); empty when nothing does. Any thread.
class CertificateWarnings {
public:
    void set(std::vector<std::string> warnings);
    std::vector<std::string> get() const;

private:
    mutable std::mutex mutex_;
    std::vector<std::string> warnings_;
};

}  // namespace agentlb::mgmt
