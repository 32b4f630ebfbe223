#include "tests/support/ca_fixture.hpp"

#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "certs/token.hpp"
#include "common/util/clock.hpp"

#include <stdexcept>

namespace agentlb::test {

namespace {

template <class T>
T must(Result<T> result, const std::string& what) {
    if (!result) {
        throw std::runtime_error(what + ": " + result.error());
    }
    return std::move(result).value();
}

std::unique_ptr<certs::CertificateAuthority> make_ca(const std::filesystem::path& dir,
                                                     const std::string& cn) {
    must(certs::create_ca(dir, cn), "create_ca");
    return std::make_unique<certs::CertificateAuthority>(
        must(certs::CertificateAuthority::load(dir), "load CA"));
}

AgentIdentity mint_with(const certs::CertificateAuthority& ca,
                        const std::string& name,
                        const MintOptions& options) {
    auto [key_pem, csr_pem] = make_key_and_csr(name);
    certs::IssueOptions issue;
    issue.kind = certs::CertificateKind::agent;
    issue.common_name = name;
    issue.not_before_override = options.not_before;
    issue.not_after_override = options.not_after;
    auto issued = must(ca.issue(csr_pem, issue), "issue");
    AgentIdentity identity;
    identity.name = name;
    identity.key_pem = key_pem;
    identity.cert_pem = issued.pem;
    identity.serial = issued.serial;
    identity.csr_pem = csr_pem;
    return identity;
}

}  // namespace

KeyAndCsr make_key_and_csr(const std::string& name) {
    auto key = must(certs::generate_p256_key(), "generate key");
    auto csr = must(certs::make_csr_pem(key.get(), name), "make CSR");
    return {certs::private_key_to_pem(key.get()), std::move(csr)};
}

CaFixture::CaFixture() : CaFixture(std::string()) {}

CaFixture::CaFixture(std::string db) : db_(db.empty() ? (dir_ / "agentlb.db").string() : std::move(db)) {
    ca_ = make_ca(ca_dir(), "agentlb test CA");
    store_ = store::open_store(db_, store::OpenMode::create);
    store_->put_ca_certificate(ca_->certificate_pem(), ca_->fingerprint());
}

CaFixture::CaFixture(std::string db, const CaDirMaker& make_ca_dir)
    : db_(db.empty() ? (dir_ / "agentlb.db").string() : std::move(db)) {
    make_ca_dir(ca_dir());
    ca_ = std::make_unique<certs::CertificateAuthority>(
        must(certs::CertificateAuthority::load(ca_dir()), "load CA"));
    store_ = store::open_store(db_, store::OpenMode::create);
    store_->put_ca_with_chain(ca_->certificate_pem(), ca_->fingerprint(), ca_->chain_pem());
}

void CaFixture::set_config(const std::string& key, const std::string& value) {
    auto result = store_->set_config(key, value);
    if (!result) {
        throw std::runtime_error("set_config " + key + ": " + result.error());
    }
}

std::string CaFixture::create_token(std::optional<std::string> zone,
                                    std::optional<std::string> name,
                                    std::chrono::seconds ttl) {
    const auto token = certs::generate_join_token();
    store::TokenSpec spec;
    spec.hash = certs::hash_token(token);
    spec.zone = std::move(zone);
    spec.name = std::move(name);
    spec.created_at = util::unix_now();
    spec.expires_at = spec.created_at + ttl.count();
    store_->create_token(spec);
    return token;
}

AgentIdentity CaFixture::enroll(const std::string& name, const std::string& zone) {
    const auto token = create_token(zone, name);
    auto [key_pem, csr_pem] = make_key_and_csr(name);
    store::RedeemRequest request;
    request.token_hash = certs::hash_token(token);
    request.name = name;
    request.now = util::unix_now();
    const auto& ca = *ca_;
    std::string csr = csr_pem;
    auto enrollment =
        must(store_->redeem_token(
                 request,
                 [&ca, &csr](const store::HostRecord& host) -> Result<store::IssuedCertificate> {
                     certs::IssueOptions options;
                     options.kind = certs::CertificateKind::agent;
                     options.common_name = host.name;
                     auto issued = ca.issue(csr, options);
                     if (!issued) {
                         return fail(issued.error());
                     }
                     return store::IssuedCertificate{issued->pem, issued->serial, issued->not_after};
                 }),
             "redeem_token " + name);
    AgentIdentity identity;
    identity.name = name;
    identity.zone = enrollment.host.zone;
    identity.host_id = enrollment.host.id;
    identity.key_pem = key_pem;
    identity.cert_pem = enrollment.certificate.pem;
    identity.serial = enrollment.certificate.serial;
    identity.csr_pem = csr_pem;
    return identity;
}

AgentIdentity CaFixture::mint(const std::string& name, const MintOptions& options) const {
    return mint_with(*ca_, name, options);
}

ForeignCa::ForeignCa() {
    ca_ = make_ca(dir_ / "ca", "some other CA");
}

AgentIdentity ForeignCa::mint(const std::string& name) const {
    return mint_with(*ca_, name, {});
}

}  // namespace agentlb::test
