#include "common/tls/agent_certificate.hpp"

#include "certs/inspect.hpp"
#include "certs/verify.hpp"
#include "common/tls/context.hpp"

namespace agentlb::tls {

protocol::PeerCertificate agent_certificate(SSL* ssl, const certs::RevocationList* revoked) {
    protocol::PeerCertificate out;
    auto certificate = peer_certificate(ssl);
    if (!certificate) {
        return out;
    }
    out.present = true;
    out.common_name = certs::common_name_of(certificate.get());
    out.serial = certs::serial_of(certificate.get());
    auto check = certs::check_leaf(certificate.get(), revoked, certs::CertificateKind::agent);
    switch (check.problem) {
        case certs::LeafProblem::none:
            break;
        case certs::LeafProblem::revoked:
            out.check = protocol::CertificateCheck::revoked;
            break;
        case certs::LeafProblem::bad_certificate:
            out.check = protocol::CertificateCheck::bad;
            break;
    }
    out.problem = std::move(check.reason);
    return out;
}

}  // namespace agentlb::tls
