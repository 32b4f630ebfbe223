#include "tests/support/org_pki.hpp"

#include "certs/keys.hpp"
#include "certs/name.hpp"
#include "certs/pem.hpp"
#include "certs/x509_builder.hpp"
#include "common/util/atomic_file.hpp"
#include "common/util/clock.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace agentlb::test {
namespace {

template <typename T>
T must(Result<T> result, const char* what) {
    if (!result) {
        throw std::runtime_error(std::string(what) + ": " + result.error());
    }
    return std::move(result).value();
}

void must(const Status& status, const char* what) {
    if (!status) {
        throw std::runtime_error(std::string(what) + ": " + status.error());
    }
}

}  // namespace

std::string PkiCertificate::pem() const {
    return certs::to_pem(certificate.get());
}

std::string PkiCertificate::key_pem() const {
    return certs::private_key_to_pem(key.get());
}

PkiCertificate make_pki_certificate(const PkiCertificateSpec& spec, const PkiCertificate* issuer) {
    PkiCertificate made;
    made.key = must(certs::generate_p256_key(), "test PKI key");
    auto name = must(certs::make_subject_name(spec.common_name), "test PKI name");
    made.certificate.reset(X509_new());
    X509* cert = made.certificate.get();
    X509* signer = issuer != nullptr ? issuer->certificate.get() : cert;
    if (X509_set_version(cert, X509_VERSION_3) != 1 || X509_set_subject_name(cert, name.get()) != 1 ||
        X509_set_issuer_name(cert, X509_get_subject_name(signer)) != 1 ||
        X509_set_pubkey(cert, made.key.get()) != 1) {
        throw std::runtime_error("test PKI: cannot build " + spec.common_name);
    }
    must(certs::set_random_serial(cert), "test PKI serial");
    const std::int64_t now = util::unix_now();
    must(certs::set_validity(cert, now + spec.not_before_offset, now + spec.not_after_offset),
         "test PKI validity");
    must(certs::add_extension(cert, signer, NID_subject_key_identifier, "hash"), "test PKI SKID");
    if (issuer != nullptr) {
        must(certs::add_extension(cert, signer, NID_authority_key_identifier, "keyid:always"),
             "test PKI AKID");
    }
    if (!spec.basic_constraints.empty()) {
        must(certs::add_extension(cert, signer, NID_basic_constraints, spec.basic_constraints.c_str()),
             "test PKI basicConstraints");
    }
    if (!spec.key_usage.empty()) {
        must(certs::add_extension(cert, signer, NID_key_usage, spec.key_usage.c_str()), "test PKI keyUsage");
    }
    if (!spec.extended_key_usage.empty()) {
        must(certs::add_extension(cert, signer, NID_ext_key_usage, spec.extended_key_usage.c_str()),
             "test PKI extendedKeyUsage");
    }
    EVP_PKEY* signing_key = issuer != nullptr ? issuer->key.get() : made.key.get();
    if (X509_sign(cert, signing_key, EVP_sha256()) <= 0) {
        throw std::runtime_error("test PKI: cannot sign " + spec.common_name);
    }
    return made;
}

OrgPki::OrgPki()
    : root(make_pki_certificate({"Example Org Root"}, nullptr)),
      intermediate(make_pki_certificate({"Example Org Intermediate", "critical,CA:TRUE,pathlen:1"}, &root)),
      issuing(make_pki_certificate({"agentlb issuing CA", "critical,CA:TRUE,pathlen:0"}, &intermediate)) {}

std::string OrgPki::chain_pem() const {
    return intermediate.pem() + root.pem();
}

std::filesystem::path OrgPki::write(const std::filesystem::path& dir) const {
    std::filesystem::create_directories(dir);
    must(util::write_file_atomically(dir / "issuing.crt", issuing.pem(), 0644), "writing issuing.crt");
    must(util::write_file_atomically(dir / "issuing.key", issuing.key_pem(), 0600), "writing issuing.key");
    must(util::write_file_atomically(dir / "chain.crt", chain_pem(), 0644), "writing chain.crt");
    return dir;
}

}  // namespace agentlb::test
