#include "certs/rotation.hpp"

#include "certs/ca.hpp"
#include "certs/fingerprint.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "certs/x509_builder.hpp"
#include "common/util/atomic_file.hpp"
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
Result<X509Ptr> make_ca_certificate(
    X509_NAME* subject, EVP_PKEY* public_key, X509* issuer, EVP_PKEY* signer_key, std::int64_t now) {
    ERR_clear_error();
    X509Ptr certificate(X509_new());
    if (!certificate || X509_set_version(certificate.get(), X509_VERSION_3) != 1 ||
        X509_set_subject_name(certificate.get(), subject) != 1 ||
        X509_set_issuer_name(certificate.get(), subject) != 1 ||
        X509_set_pubkey(certificate.get(), public_key) != 1) {
        return fail(openssl_failure("cannot build the new CA certificate"));
    }
    if (auto body = set_ca_body(certificate.get(), now, kCaValidity.count()); !body) {
        return fail(body.error());
    }
    if (issuer != nullptr) {
        // Without it the cross certificate (subject = issuer) would read as self-signed.
        if (auto akid =
                add_extension(certificate.get(), issuer, NID_authority_key_identifier, "keyid:always");
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

namespace {

namespace fs = std::filesystem;

bool file_exists(const fs::path& path) {
    std::error_code ec;
    return fs::exists(fs::symlink_status(path, ec));
}

}  // namespace

Result<PreparedRotation> prepare_ca_rotation(const fs::path& dir, EvpPkeyPtr new_key) {
    for (std::string_view file : {kPreviousCaKeyFileName, kPreviousCaCertificateFileName}) {
        if (file_exists(dir / file)) {
            return fail((dir / file).string() +
                        " exists: an earlier rotation is not finished (agentlbctl ca rotate --finish)");
        }
    }
    auto old_certificate = load_certificate_file(dir / kCaCertificateFileName);
    if (!old_certificate) {
        return fail(old_certificate.error());
    }
    auto old_key = load_private_key_file(dir / kCaKeyFileName);
    if (!old_key) {
        return fail(old_key.error());
    }
    auto successor = make_successor_ca(old_certificate->get(), old_key->get(), std::move(new_key));
    if (!successor) {
        return fail(successor.error());
    }
    if (auto saved = save_private_key_file(dir / kNextCaKeyFileName, successor->key.get()); !saved) {
        return fail(saved.error());
    }
    if (auto saved = save_certificate_file(dir / kNextCaCertificateFileName, successor->certificate.get());
        !saved) {
        discard_ca_rotation_files(dir);
        return fail(saved.error());
    }
    return PreparedRotation{fingerprint_of(old_certificate->get()),
                            to_pem(successor->certificate.get()),
                            fingerprint_of(successor->certificate.get()),
                            to_pem(successor->cross.get())};
}

Status complete_ca_rotation_files(const fs::path& dir) {
    const fs::path next_key = dir / kNextCaKeyFileName;
    const fs::path next_certificate = dir / kNextCaCertificateFileName;
    if (!file_exists(next_key) && !file_exists(next_certificate)) {
        return success();  // done already
    }
    // Keep the old pair first (copies, so ca.key never goes missing).
    if (!file_exists(dir / kPreviousCaCertificateFileName)) {
        auto key = load_private_key_file(dir / kCaKeyFileName);
        auto certificate = load_certificate_file(dir / kCaCertificateFileName);
        if (!key || !certificate) {
            return fail(!key ? key.error() : certificate.error());
        }
        if (auto saved = save_private_key_file(dir / kPreviousCaKeyFileName, key->get()); !saved) {
            return saved;
        }
        if (auto saved = save_certificate_file(dir / kPreviousCaCertificateFileName, certificate->get());
            !saved) {
            return saved;
        }
    }
    // The key first: a crash between the two leaves ca.next.crt, and the
    // next run renames it (a key without its certificate is never loaded:
    // CertificateAuthority::load checks the pair, and servers wait).
    if (file_exists(next_key)) {
        if (auto renamed = util::rename_durably(next_key, dir / kCaKeyFileName); !renamed) {
            return renamed;
        }
    }
    if (file_exists(next_certificate)) {
        if (auto renamed = util::rename_durably(next_certificate, dir / kCaCertificateFileName); !renamed) {
            return renamed;
        }
    }
    return success();
}

void discard_ca_rotation_files(const fs::path& dir) {
    std::error_code ignored;
    fs::remove(dir / kNextCaKeyFileName, ignored);
    fs::remove(dir / kNextCaCertificateFileName, ignored);
}

std::optional<std::string> next_ca_fingerprint(const fs::path& dir) {
    if (!file_exists(dir / kNextCaCertificateFileName)) {
        return std::nullopt;
    }
    auto certificate = load_certificate_file(dir / kNextCaCertificateFileName);
    if (!certificate) {
        return std::nullopt;
    }
    return fingerprint_of(certificate->get());
}

Status remove_previous_ca_files(const fs::path& dir) {
    for (std::string_view file : {kPreviousCaKeyFileName, kPreviousCaCertificateFileName}) {
        std::error_code ec;
        fs::remove(dir / file, ec);
        if (ec) {
            return fail("cannot remove " + (dir / file).string() + ": " + ec.message());
        }
    }
    return success();
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
