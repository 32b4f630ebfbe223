#include "mgmt/tls_contexts.hpp"

#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "mgmt/server_certificate.hpp"

#include <utility>

namespace agentlb::mgmt {

Result<std::shared_ptr<const ServerTls>> make_server_tls(const ServerCredentials& credentials,
                                                         const std::string& issuer_fingerprint,
                                                         const CaView& cas,
                                                         std::shared_ptr<const certs::RevocationList> revoked,
                                                         std::shared_ptr<tls::TicketKeyRing> ticket_keys) {
    auto tls = std::make_shared<ServerTls>();
    // After the leaf: the cross certificate during a rotation, then an
    // imported CA with its intermediates (both empty for our own root).
    const std::string chain = cas.chain_pem + cas.issuer->intermediates_pem();
    tls::AgentPortServerConfig config{
        cas.trust_pem, credentials.certificate_pem, credentials.key_pem, std::move(revoked)};
    config.chain_pem = chain;
    config.ticket_keys = std::move(ticket_keys);
    auto agent = tls::make_agent_port_server_context(config);
    if (!agent) {
        return fail("agent port TLS: " + agent.error());
    }
    // The enrollment port sends what new agents pin: an imported CA's root,
    // else the active CA (first in trust_pem).
    const bool imported = !cas.issuer->intermediates_pem().empty();
    auto enroll = tls::make_enroll_server_context(credentials.certificate_pem,
                                                  credentials.key_pem,
                                                  imported ? cas.issuer->trust_anchor_pem() : cas.trust_pem,
                                                  chain);
    if (!enroll) {
        return fail("enrollment port TLS: " + enroll.error());
    }
    const tls::PeerLinkConfig peer{
        cas.trust_pem, credentials.certificate_pem, credentials.key_pem, chain, config.revoked};
    auto peer_server = tls::make_peer_server_context(peer);
    if (!peer_server) {
        return fail(peer_server.error());
    }
    auto peer_client = tls::make_peer_client_context(peer);
    if (!peer_client) {
        return fail(peer_client.error());
    }
    auto cert = certs::parse_certificate_pem(credentials.certificate_pem);
    if (!cert) {
        return fail("server certificate: " + cert.error());
    }
    tls->agent = std::move(agent).value();
    tls->enroll = std::move(enroll).value();
    tls->peer_server = std::move(peer_server).value();
    tls->peer_client = std::move(peer_client).value();
    tls->serial = certs::serial_of(cert->get());
    tls->not_before = certs::not_before_of(cert->get());
    tls->not_after = certs::not_after_of(cert->get());
    tls->certificate_pem = credentials.certificate_pem;
    tls->key_pem = credentials.key_pem;
    tls->issuer_fingerprint = issuer_fingerprint;
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
