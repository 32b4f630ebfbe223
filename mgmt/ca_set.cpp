#include "mgmt/ca_set.hpp"

#include "certs/fingerprint.hpp"
#include "certs/hex.hpp"
#include "certs/pem.hpp"

#include <openssl/x509v3.h>

#include <algorithm>

namespace agentlb::mgmt {

namespace {

std::string hex_of(const ASN1_OCTET_STRING* id) {
    if (id == nullptr) {
        return {};
    }
    return certs::to_hex(ASN1_STRING_get0_data(id), static_cast<std::size_t>(ASN1_STRING_length(id)));
}

}  // namespace

std::string subject_key_id_of(X509* certificate) {
    return certificate == nullptr ? std::string() : hex_of(X509_get0_subject_key_id(certificate));
}

std::string authority_key_id_of(X509* certificate) {
    return certificate == nullptr ? std::string() : hex_of(X509_get0_authority_key_id(certificate));
}

Result<CaView> make_ca_view(std::shared_ptr<const certs::CertificateAuthority> issuer,
                            const std::vector<store::TrustedCa>& trusted) {
    CaView view;
    view.issuer_fingerprint = issuer->fingerprint();
    if (trusted.empty()) {
        view.trust_pem = issuer->certificate_pem();
        view.answer_ca_pem = issuer->certificate_pem();
        view.trust_cas = {issuer->certificate_pem()};
        view.trust_fingerprints = {view.issuer_fingerprint};
        view.issuer = std::move(issuer);
        return view;
    }
    const store::TrustedCa* active = nullptr;
    const store::TrustedCa* previous = nullptr;
    for (const auto& ca : trusted) {
        (ca.state == store::kCaActive ? active : previous) = &ca;
    }
    if (active == nullptr) {
        return fail("the store trusts no active CA");
    }
    const bool issuer_trusted = std::any_of(trusted.begin(), trusted.end(), [&](const store::TrustedCa& ca) {
        return ca.fingerprint == view.issuer_fingerprint;
    });
    if (!issuer_trusted) {
        return fail("this server's CA (" + view.issuer_fingerprint +
                    ") is not one the store trusts (active: " + active->fingerprint + ")");
    }
    view.issuer_outdated = active->fingerprint != view.issuer_fingerprint;
    view.trust_pem = active->pem;
    view.trust_cas = {active->pem};
    if (previous != nullptr) {
        view.previous_fingerprint = previous->fingerprint;
        view.trust_pem += previous->pem;
        view.trust_cas.push_back(previous->pem);
        auto previous_certificate = certs::parse_certificate_pem(previous->pem);
        if (!previous_certificate) {
            return fail("the previous CA in the store: " + previous_certificate.error());
        }
        view.previous_key_id = subject_key_id_of(previous_certificate->get());
        if (!active->cross_pem.empty()) {
            view.trust_cas.push_back(active->cross_pem);
            if (!view.issuer_outdated) {
                view.chain_pem = active->cross_pem;
            }
        }
    }
    for (const auto& pem : view.trust_cas) {
        auto fingerprint = certs::fingerprint_of_pem(pem);
        if (!fingerprint) {
            return fail("a trusted CA in the store: " + fingerprint.error());
        }
        view.trust_fingerprints.push_back(*fingerprint);
    }
    std::sort(view.trust_fingerprints.begin(), view.trust_fingerprints.end());
    view.answer_ca_pem = view.chain_pem.empty() ? issuer->certificate_pem() : view.chain_pem;
    view.issuer = std::move(issuer);
    return view;
}

CaSet::CaSet(std::shared_ptr<const CaView> view) : view_(std::move(view)) {}

std::shared_ptr<const CaView> CaSet::view() const {
    std::lock_guard lock(mutex_);
    return view_;
}

Result<CaSet::Change> CaSet::update(const std::vector<store::TrustedCa>& trusted,
                                    const std::filesystem::path& ca_dir) {
    const auto current = view();
    std::shared_ptr<const certs::CertificateAuthority> issuer = current->issuer;
    if (!trusted.empty() && trusted.front().fingerprint != current->issuer_fingerprint) {
        // The active CA changed (a rotation): issue from it once --ca-dir holds it.
        auto loaded = certs::CertificateAuthority::load(ca_dir);
        if (loaded && loaded->fingerprint() == trusted.front().fingerprint) {
            issuer = std::make_shared<const certs::CertificateAuthority>(std::move(loaded).value());
        }
    }
    auto built = make_ca_view(issuer, trusted);
    if (!built) {
        return fail(built.error());
    }
    Change change;
    change.issuer_changed = built->issuer_fingerprint != current->issuer_fingerprint;
    change.trust_changed =
        built->trust_fingerprints != current->trust_fingerprints || built->chain_pem != current->chain_pem;
    auto next = std::make_shared<const CaView>(std::move(built).value());
    std::lock_guard lock(mutex_);
    view_ = std::move(next);
    return change;
}

Result<certs::IssuedCertificate> CaSet::issue(std::string_view csr_pem,
                                              const certs::IssueOptions& options) const {
    const auto current = view();
    return current->issuer->issue(csr_pem, options);
}

}  // namespace agentlb::mgmt
