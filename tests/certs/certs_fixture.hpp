#pragma once

// Shared helpers for the certs/ tests: a fresh temporary folder, a CA in it,
// and certificates issued from freshly generated keys.

#include "certs/ca.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "common/util/clock.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <sys/stat.h>

namespace agentlb::certs::test {

using ::agentlb::test::TempDir;

inline ::mode_t mode_of(const std::filesystem::path& path) {
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    return info.st_mode & 07777;
}

// A CA in its own temporary folder.
struct TestCa {
    TempDir dir;
    CertificateAuthority ca;

    explicit TestCa(std::string_view common_name = "agentlb CA") : ca(make(dir, common_name)) {}

private:
    static CertificateAuthority make(const TempDir& dir, std::string_view common_name) {
        auto created = create_ca(dir.path() / "ca", common_name);
        if (!created) {
            throw std::runtime_error(created.error());
        }
        auto loaded = CertificateAuthority::load(dir.path() / "ca");
        if (!loaded) {
            throw std::runtime_error(loaded.error());
        }
        return std::move(loaded).value();
    }
};

inline std::string fresh_csr(std::string_view common_name = "kvm1") {
    auto key = generate_p256_key();
    REQUIRE(key.ok());
    auto csr = make_csr_pem(key->get(), common_name);
    REQUIRE(csr.ok());
    return *csr;
}

inline IssueOptions agent_options(std::string common_name = "kvm1") {
    IssueOptions options;
    options.kind = CertificateKind::agent;
    options.common_name = std::move(common_name);
    return options;
}

inline IssueOptions server_options(std::string common_name = "ms1") {
    IssueOptions options;
    options.kind = CertificateKind::server;
    options.common_name = std::move(common_name);
    options.dns_names = {"ms1.example"};
    options.ip_addresses = {"10.0.0.1", "::1"};
    return options;
}

// Issues and parses back; fails the test on any refusal.
inline X509Ptr issue_parsed(const CertificateAuthority& ca, const IssueOptions& options) {
    auto issued = ca.issue(fresh_csr(options.common_name), options);
    INFO((issued ? std::string() : issued.error()));
    REQUIRE(issued.ok());
    auto certificate = parse_certificate_pem(issued->pem);
    REQUIRE(certificate.ok());
    return std::move(certificate).value();
}

// `ca`'s own key, from its folder.
inline EvpPkeyPtr ca_key(const TestCa& test_ca) {
    auto key = load_private_key_file(test_ca.dir.path() / "ca" / "ca.key");
    REQUIRE(key.ok());
    return std::move(key).value();
}

// `subject` re-signed by `issuer` (name and key): issuer name set, no
// authorityKeyIdentifier, validity from `not_before` to `not_after`.
inline X509Ptr resigned(
    X509* subject, X509* issuer, EVP_PKEY* issuer_key, std::int64_t not_before, std::int64_t not_after) {
    X509Ptr copy(X509_dup(subject));
    REQUIRE(copy);
    REQUIRE(X509_set_issuer_name(copy.get(), X509_get_subject_name(issuer)) == 1);
    const int akid = X509_get_ext_by_NID(copy.get(), NID_authority_key_identifier, -1);
    if (akid >= 0) {
        X509_EXTENSION_free(X509_delete_ext(copy.get(), akid));
    }
    REQUIRE(ASN1_TIME_set(X509_getm_notBefore(copy.get()), static_cast<time_t>(not_before)) != nullptr);
    REQUIRE(ASN1_TIME_set(X509_getm_notAfter(copy.get()), static_cast<time_t>(not_after)) != nullptr);
    REQUIRE(X509_sign(copy.get(), issuer_key, EVP_sha256()) > 0);
    return copy;
}

}  // namespace agentlb::certs::test
