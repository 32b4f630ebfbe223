#pragma once

// The enrollment port's answer to `renew_expired` (wire::RenewExpired): an
// agent whose certificate expired less than the grace period ago
// (agentlb.ca.expired.cert.grace.period for its zone and cluster), not
// revoked, proves it holds the old key over this TLS connection and gets a
// new certificate for the same host id; the old serial is revoked.
//
// Split like the enrollment: the checks that need only OpenSSL run on the I/O
// thread (check_expired_certificate), the ones that need the store and the
// issuing on the store thread (redeem_expired_certificate).

#include "certs/ca.hpp"
#include "common/protocol/enroll_server_machine.hpp"
#include "common/store/store.hpp"
#include "common/wire/messages.hpp"
#include "mgmt/cluster_state.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace agentlb::mgmt {

// What the OpenSSL checks learnt of the expired certificate.
struct ExpiredCertificate {
    std::string serial;
    std::string name;  // its CN: the host
    std::int64_t not_after = 0;
};

// The certificate parses, chains to `ca` (dates aside), is an agent's, has
// expired at `now`, the CSR parses, and the signature is the certificate's
// key over `exporter` (this connection's, tls::renew_expired_exporter) and
// the CSR.
std::variant<ExpiredCertificate, protocol::EnrollRefusal> check_expired_certificate(
    const wire::RenewExpired& request,
    const certs::CertificateAuthority& ca,
    std::string_view exporter,
    std::int64_t now);

// On the store thread, for a certificate check_expired_certificate passed:
// not revoked, its host exists and the store recorded it for that host, the
// grace for the host's place allows it; then a certificate for the same host
// id is issued and recorded, the old serial revoked, and the `enrolled`
// answer built like an enrolment's. A store failure becomes
// EnrollStoreUnavailable.
protocol::EnrollRedeemed redeem_expired_certificate(const wire::RenewExpired& request,
                                                    const ExpiredCertificate& expired,
                                                    store::Store& store,
                                                    const certs::CertificateAuthority& ca,
                                                    const ClusterSnapshot& snapshot,
                                                    std::int64_t now);

}  // namespace agentlb::mgmt
