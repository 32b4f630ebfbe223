// CertificateAuthority::derive_secret: HKDF-SHA256 over the CA's private key.

#include "certs/ca.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include <vector>

namespace agentlb::certs {

namespace {

struct KdfDeleter {
    void operator()(EVP_KDF* kdf) const { EVP_KDF_free(kdf); }
    void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};

}  // namespace

Result<std::array<unsigned char, 32>> CertificateAuthority::derive_secret(std::string_view info) const {
    ERR_clear_error();
    const int length = i2d_PrivateKey(key_.get(), nullptr);
    if (length <= 0) {
        return fail(openssl_failure("cannot encode the CA private key to derive a secret"));
    }
    std::vector<unsigned char> der(static_cast<std::size_t>(length));
    unsigned char* out = der.data();
    if (i2d_PrivateKey(key_.get(), &out) != length) {
        OPENSSL_cleanse(der.data(), der.size());
        return fail(openssl_failure("cannot encode the CA private key to derive a secret"));
    }
    std::unique_ptr<EVP_KDF, KdfDeleter> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
    std::unique_ptr<EVP_KDF_CTX, KdfDeleter> ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
    std::array<unsigned char, 32> secret{};
    bool ok = false;
    if (ctx) {
        char digest[] = "SHA256";
        std::string info_bytes(info);
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, der.data(), der.size()),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info_bytes.data(), info_bytes.size()),
            OSSL_PARAM_construct_end(),
        };
        ok = EVP_KDF_derive(ctx.get(), secret.data(), secret.size(), params) == 1;
    }
    OPENSSL_cleanse(der.data(), der.size());
    if (!ok) {
        return fail(openssl_failure("cannot derive a secret from the CA private key (HKDF-SHA256)"));
    }
    return secret;
}

}  // namespace agentlb::certs
