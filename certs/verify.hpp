#pragma once

// Deciding whether a peer's certificate is one of ours and still good.

#include "certs/certificate_kind.hpp"
#include "certs/handles.hpp"
#include "certs/revocation.hpp"
#include "common/util/result.hpp"

#include <cstdint>
#include <string>

namespace agentlb::certs {

// An X509_V_ERR_* result meaning the chain does not lead to the trusted CA:
// issuer unknown, self-signed, or a signature that does not verify.
bool is_foreign_issuer_error(long verify_result);

// A store that trusts exactly the CA certificate in `ca_pem`, with strict
// X.509 checks on. A CA certificate that is not self-signed (a successor the
// previous CA vouched for, see check_vouched_ca) is the trust anchor itself
// (X509_V_FLAG_PARTIAL_CHAIN): the chain ends there. For TLS: SSL_CTX_set1_cert_store(ctx, store.get())
// (or SSL_CTX_set_cert_store(ctx, store.release()), which takes ownership).
Result<X509StorePtr> make_ca_store(const std::string& ca_pem);

// Why check_leaf refused a certificate: callers decide by this, never by
// the reason's text.
enum class LeafProblem { none, revoked, bad_certificate };

struct [[nodiscard]] LeafCheck {
    LeafProblem problem = LeafProblem::none;
    std::string reason;  // for a person, e.g. "certificate revoked (serial 1f)"

    bool ok() const noexcept { return problem == LeafProblem::none; }
    explicit operator bool() const noexcept { return ok(); }
    const std::string& error() const noexcept { return reason; }
};

// The checks a TLS handshake does not make, for use once the chain is known
// to be good (a verify callback at depth 0, or `hello` after a resumed
// session): not a CA; extendedKeyUsage fits `expected` (an agent certificate
// has clientAuth and not serverAuth, so a server's certificate cannot pose as
// a host; a server certificate has serverAuth); serial not revoked. No I/O.
LeafCheck check_leaf(X509* leaf, const RevocationList* revoked, CertificateKind expected);

// The full check: chain to the CA, validity at `now` (Unix seconds, not the
// clock), purpose, then check_leaf. Reasons read like
// "certificate expired on 2025-03-01T12:00:00Z", "certificate not issued by
// this CA", "certificate revoked (serial 1f...)".
Status verify_certificate(X509* leaf,
                          X509_STORE* ca_store,
                          std::int64_t now,
                          const RevocationList* revoked = nullptr,
                          CertificateKind expected = CertificateKind::agent);
Status verify_certificate(X509* leaf,
                          const std::string& ca_pem,
                          std::int64_t now,
                          const RevocationList* revoked = nullptr,
                          CertificateKind expected = CertificateKind::agent);

// verify_certificate for a peer that sends certificates after its leaf (an
// imported CA and the CAs between it and the root, PEM; "" for none): they
// may link the leaf to `ca_pem` but are never trusted themselves.
Status verify_certificate_chain(X509* leaf,
                                const std::string& ca_pem,
                                const std::string& chain_pem,
                                std::int64_t now,
                                const RevocationList* revoked = nullptr,
                                CertificateKind expected = CertificateKind::agent);

// Whether the CA certificate `trusted` vouches for the CA certificate
// `candidate` (DESIGN.md "CA"): `candidate` names `trusted` as its issuer,
// its signature verifies with `trusted`'s public key, it is a CA
// (basicConstraints CA:TRUE, keyCertSign when keyUsage is present), and it is
// valid at `now` (Unix seconds). This holds for a re-issue of the same CA
// (same name and key, new dates) and for a successor with a new key signed by
// the old CA key (cross-signed). The reason names the first check that failed.
Status check_vouched_ca(X509* trusted, X509* candidate, std::int64_t now);

}  // namespace agentlb::certs
