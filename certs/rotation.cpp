#include "certs/rotation.hpp"

#include "certs/ca.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "certs/x509_builder.hpp"
#include "common/util/clock.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace agentlb::certs {
namespace {

// The successor's certificate signed by `signer_key`; `issuer` supplies the
// issuer name and authorityKeyIdentifier (nullptr: self-signed, none).
Result<X509Ptr> make_ca_certificate(X509_NAME* subject,
                                    EVP_PKEY* public_key,
                                    X509* issuer,
                                    EVP_PKEY* signer_key,
                                    std::int64_t now) {
    ERR_clear_error();
    X509Ptr certificate(X509_new());
    if (!certificate || X509_set_version(certificate.get(), X509_VERSION_3) != 1 ||
        X509_set_subject_name(certificate.get(), subject) != 1 ||
        X509_set_issuer_name(certificate.get(), subject) != 1 ||
        X509_set_pubkey(certificate.get(), public_key) != 1) {
        return fail(openssl_failure("cannot build the new CA certificate"));
    }
    if (auto serial = set_random_serial(certificate.get()); !serial) {
        return fail(serial.error());
    }
    if (auto validity =
            set_validity(certificate.get(), now - kNotBeforeBackdateSeconds, now + kCaValidity.count());
        !validity) {
        return fail(validity.error());
    }
    auto extensions = add_extensions(certificate.get(),
                                     certificate.get(),
                                     {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                      {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                      {NID_subject_key_identifier, "hash"}});
    if (!extensions) {
        return fail(extensions.error());
    }
    if (issuer != nullptr) {
        // Without it the cross certificate (subject = issuer) would read as self-signed.
        if (auto akid = add_extension(certificate.get(), issuer, NID_authority_key_identifier, "keyid:always");
            !akid) {
            return fail(akid.error());
        }
    }
    ERR_clear_error();
    if (X509_sign(certificate.get(), signer_key, EVP_sha256()) <= 0) {
        return fail(openssl_failure("cannot sign the new CA certificate"));
    }
    return certificate;
}

}  // namespace

Result<SuccessorCa> make_successor_ca(X509* old_certificate, EVP_PKEY* old_key, EvpPkeyPtr new_key) {
    if (old_certificate == nullptr || old_key == nullptr || !new_key) {
        return fail("no CA to rotate");
    }
    ERR_clear_error();
    if (X509_check_ca(old_certificate) == 0) {
        return fail("the current CA certificate is not a CA certificate");
    }
    if (!key_matches_certificate(old_key, old_certificate)) {
        return fail("the current CA key is not the key of the current CA certificate");
    }
    if (key_matches_certificate(new_key.get(), old_certificate)) {
        return fail("the new CA key is the current one");
    }
    const std::int64_t now = util::unix_now();
    X509_NAME* subject = X509_get_subject_name(old_certificate);
    auto self_signed = make_ca_certificate(subject, new_key.get(), nullptr, new_key.get(), now);
    if (!self_signed) {
        return fail(self_signed.error());
    }
    auto cross = make_ca_certificate(subject, new_key.get(), old_certificate, old_key, now);
    if (!cross) {
        return fail(cross.error());
    }
    return SuccessorCa{std::move(new_key), std::move(self_signed).value(), std::move(cross).value()};
}

std::string to_pem_bundle(const std::vector<X509Ptr>& certificates) {
    std::string out;
    for (const auto& certificate : certificates) {
        out += to_pem(certificate.get());
    }
    return out;
}

bool same_subject_and_key(X509* a, X509* b) {
    if (a == nullptr || b == nullptr) {
        return false;
    }
    if (X509_NAME_cmp(X509_get_subject_name(a), X509_get_subject_name(b)) != 0) {
        return false;
    }
    EVP_PKEY* key_a = X509_get0_pubkey(a);
    EVP_PKEY* key_b = X509_get0_pubkey(b);
    const bool same = key_a != nullptr && key_b != nullptr && EVP_PKEY_eq(key_a, key_b) == 1;
    ERR_clear_error();
    return same;
}

}  // namespace agentlb::certs
