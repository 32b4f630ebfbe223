#include "certs/ca.hpp"

#include "certs/ca_chain.hpp"
#include "certs/fingerprint.hpp"
#include "certs/keys.hpp"
#include "certs/name.hpp"
#include "certs/pem.hpp"
#include "certs/x509_builder.hpp"
#include "common/util/atomic_file.hpp"
#include "common/util/clock.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <system_error>

namespace agentlb::certs {

Status ensure_private_folder(const std::filesystem::path& dir) {
    std::error_code error;
    auto status = std::filesystem::status(dir, error);
    if (std::filesystem::exists(status)) {
        if (!std::filesystem::is_directory(status)) {
            return fail(dir.string() + " exists and is not a folder");
        }
        return success();
    }
    if (dir.has_parent_path()) {
        std::filesystem::create_directories(dir.parent_path(), error);
        if (error) {
            return fail("cannot create " + dir.parent_path().string() + ": " + error.message());
        }
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return fail("cannot create " + dir.string() + ": " + std::strerror(errno));
    }
    if (::chmod(dir.c_str(), 0700) != 0) {
        return fail("cannot set the mode of " + dir.string() + ": " + std::strerror(errno));
    }
    return success();
}

namespace {

Result<X509Ptr> make_self_signed(EVP_PKEY* key, std::string_view common_name) {
    auto name = make_subject_name(common_name);
    if (!name) {
        return fail("CA " + name.error());
    }
    ERR_clear_error();
    X509Ptr certificate(X509_new());
    if (!certificate || X509_set_version(certificate.get(), X509_VERSION_3) != 1 ||
        X509_set_subject_name(certificate.get(), name->get()) != 1 ||
        X509_set_issuer_name(certificate.get(), name->get()) != 1 ||
        X509_set_pubkey(certificate.get(), key) != 1) {
        return fail(openssl_failure("cannot build the CA certificate"));
    }
    const std::int64_t now = util::unix_now();
    if (auto body = set_ca_body(certificate.get(), now, kCaValidity.count()); !body) {
        return fail(body.error());
    }
    ERR_clear_error();
    if (X509_sign(certificate.get(), key, EVP_sha256()) <= 0) {
        return fail(openssl_failure("cannot sign the CA certificate"));
    }
    return certificate;
}

}  // namespace

Status create_ca(const std::filesystem::path& dir, std::string_view common_name) {
    if (auto valid = validate_common_name(common_name); !valid) {
        return fail("CA " + valid.error());
    }
    const auto key_path = dir / kCaKeyFileName;
    const auto certificate_path = dir / kCaCertificateFileName;
    for (const auto& path : {key_path, certificate_path}) {
        std::error_code error;
        if (std::filesystem::exists(std::filesystem::symlink_status(path, error))) {
            return fail(path.string() + " already exists; refusing to overwrite an existing CA");
        }
    }
    if (auto folder = ensure_private_folder(dir); !folder) {
        return folder;
    }
    auto key = generate_p256_key();
    if (!key) {
        return fail(key.error());
    }
    auto certificate = make_self_signed(key->get(), common_name);
    if (!certificate) {
        return fail(certificate.error());
    }
    // Overwrite::refuse again: another `ca init` may have raced us since the check.
    if (auto saved = save_private_key_file(key_path, key->get(), Overwrite::refuse); !saved) {
        return saved;
    }
    if (auto saved = save_certificate_file(certificate_path, certificate->get(), Overwrite::refuse); !saved) {
        // A key without its certificate would block the next attempt.
        std::error_code ignored;
        std::filesystem::remove(key_path, ignored);
        return saved;
    }
    return success();
}

CertificateAuthority::CertificateAuthority(X509Ptr certificate, EvpPkeyPtr key, std::vector<X509Ptr> chain)
    : certificate_(std::move(certificate)),
      key_(std::move(key)),
      certificate_pem_(to_pem(certificate_.get())),
      fingerprint_(fingerprint_of(certificate_.get())),
      chain_pem_(to_pem_bundle(chain)) {
    if (chain.empty()) {
        anchor_pem_ = certificate_pem_;
        anchor_fingerprint_ = fingerprint_;
        return;
    }
    anchor_pem_ = to_pem(chain.back().get());
    anchor_fingerprint_ = fingerprint_of(chain.back().get());
    intermediates_pem_ = certificate_pem_;
    for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
        intermediates_pem_ += to_pem(chain[i].get());
    }
}

Result<CertificateAuthority> CertificateAuthority::from_parts(X509Ptr certificate,
                                                              EvpPkeyPtr key,
                                                              std::vector<X509Ptr> chain,
                                                              std::int64_t now) {
    ERR_clear_error();
    if (X509_check_ca(certificate.get()) == 0) {
        return fail("it is not a CA certificate");
    }
    if (!key_matches_certificate(key.get(), certificate.get())) {
        return fail("the private key does not belong to the certificate");
    }
    if (!chain.empty()) {
        if (auto checked = check_ca_chain(certificate.get(), chain, now); !checked) {
            return fail(checked.error());
        }
    }
    return CertificateAuthority(std::move(certificate), std::move(key), std::move(chain));
}

Result<CertificateAuthority> CertificateAuthority::load(const std::filesystem::path& dir) {
    return load(dir, util::unix_now());
}

Result<CertificateAuthority> CertificateAuthority::load(const std::filesystem::path& dir, std::int64_t now) {
    const auto key_path = dir / kCaKeyFileName;
    const auto certificate_path = dir / kCaCertificateFileName;
    const auto chain_path = dir / kCaChainFileName;
    auto certificate = load_certificate_file(certificate_path);
    if (!certificate) {
        return fail(certificate.error());
    }
    auto key = load_private_key_file(key_path);
    if (!key) {
        return fail(key.error());
    }
    ERR_clear_error();
    if (X509_check_ca(certificate->get()) == 0) {
        return fail(certificate_path.string() + " is not a CA certificate");
    }
    if (!key_matches_certificate(key->get(), certificate->get())) {
        return fail(key_path.string() + " is not the private key of " + certificate_path.string());
    }
    std::vector<X509Ptr> chain;
    std::error_code error;
    if (std::filesystem::exists(chain_path, error)) {
        auto text = util::read_file(chain_path);
        if (!text) {
            return fail(text.error());
        }
        auto parsed = parse_certificates_pem(*text);
        if (!parsed) {
            return fail(chain_path.string() + ": " + parsed.error());
        }
        chain = std::move(parsed).value();
        if (auto checked = check_ca_chain(certificate->get(), chain, now); !checked) {
            return fail(chain_path.string() + ": " + checked.error());
        }
    }
    return CertificateAuthority(std::move(certificate).value(), std::move(key).value(), std::move(chain));
}

}  // namespace agentlb::certs
