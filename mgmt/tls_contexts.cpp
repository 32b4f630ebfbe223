#include "mgmt/tls_contexts.hpp"

#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "mgmt/server_certificate.hpp"

#include <utility>

namespace agentlb::mgmt {

Result<std::shared_ptr<const ServerTls>> make_server_tls(
    const ServerCredentials& credentials,
    const certs::CertificateAuthority& ca,
    std::shared_ptr<const certs::RevocationList> revoked) {
    auto tls = std::make_shared<ServerTls>();
    tls::AgentPortServerConfig agent_port{
        ca.certificate_pem(), credentials.certificate_pem, credentials.key_pem, std::move(revoked)};
    agent_port.chain_pem = ca.intermediates_pem();
    auto agent = tls::make_agent_port_server_context(agent_port);
    if (!agent) {
        return fail("agent port TLS: " + agent.error());
    }
    auto enroll = tls::make_enroll_server_context(
        credentials.certificate_pem, credentials.key_pem, ca.trust_anchor_pem(), ca.intermediates_pem());
    if (!enroll) {
        return fail("enrollment port TLS: " + enroll.error());
    }
    auto cert = certs::parse_certificate_pem(credentials.certificate_pem);
    if (!cert) {
        return fail("server certificate: " + cert.error());
    }
    tls->agent = std::move(agent).value();
    tls->enroll = std::move(enroll).value();
    tls->serial = certs::serial_of(cert->get());
    tls->not_before = certs::not_before_of(cert->get());
    tls->not_after = certs::not_after_of(cert->get());
    return std::shared_ptr<const ServerTls>(std::move(tls));
}

std::shared_ptr<const ServerTls> TlsContexts::current() const {
    std::lock_guard lock(mutex_);
    return current_;
}

void TlsContexts::install(std::shared_ptr<const ServerTls> tls) {
    std::lock_guard lock(mutex_);
    current_ = std::move(tls);
}

void CertificateWarnings::set(std::vector<std::string> warnings) {
    std::lock_guard lock(mutex_);
    warnings_ = std::move(warnings);
}

std::vector<std::string> CertificateWarnings::get() const {
    std::lock_guard lock(mutex_);
    return warnings_;
}

}  // namespace agentlb::mgmt
