#include "certs/keys.hpp"

#include "certs/name.hpp"
#include "certs/pem.hpp"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <string>

namespace agentlb::certs {
namespace {

constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;

Result<EvpPkeyPtr> generate_ec_key(const char* group) {
    ERR_clear_error();
    EvpPkeyCtxPtr context(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    if (!context || EVP_PKEY_keygen_init(context.get()) != 1 ||
        EVP_PKEY_CTX_set_group_name(context.get(), group) != 1) {
        return fail(openssl_failure(std::string("cannot prepare ") + group + " key generation"));
    }
    EVP_PKEY* key = nullptr;
    if (EVP_PKEY_generate(context.get(), &key) != 1) {
        return fail(openssl_failure(std::string("cannot generate a ") + group + " key"));
    }
    return EvpPkeyPtr(key);
}

Result<EvpPkeyPtr> generate_rsa_key(unsigned int bits) {
    ERR_clear_error();
    EvpPkeyCtxPtr context(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
    if (!context || EVP_PKEY_keygen_init(context.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_keygen_bits(context.get(), static_cast<int>(bits)) != 1) {
        return fail(openssl_failure("cannot prepare RSA key generation"));
    }
    EVP_PKEY* key = nullptr;
    if (EVP_PKEY_generate(context.get(), &key) != 1) {
        return fail(openssl_failure("cannot generate an RSA key of " + std::to_string(bits) + " bits"));
    }
    return EvpPkeyPtr(key);
}

}  // namespace

Result<EvpPkeyPtr> generate_p256_key() {
    return generate_ec_key("P-256");
}

Result<EvpPkeyPtr> generate_key(KeyType type) {
    switch (type) {
        case KeyType::p384:
            return generate_ec_key("P-384");
        case KeyType::rsa3072:
            return generate_rsa_key(3072);
        case KeyType::p256:
            break;
    }
    return generate_ec_key("P-256");
}

Result<std::string> make_csr_pem(EVP_PKEY* key, std::string_view common_name) {
    auto name = make_subject_name(common_name);
    if (!name) {
        return fail(name.error());
    }
    ERR_clear_error();
    X509ReqPtr request(X509_REQ_new());
    if (!request || X509_REQ_set_version(request.get(), 0) != 1 ||
        X509_REQ_set_subject_name(request.get(), name->get()) != 1 ||
        X509_REQ_set_pubkey(request.get(), key) != 1) {
        return fail(openssl_failure("cannot build a CSR"));
    }
    if (X509_REQ_sign(request.get(), key, EVP_sha256()) <= 0) {
        return fail(openssl_failure("cannot sign the CSR"));
    }
    return to_pem(request.get());
}

Status check_key_policy(EVP_PKEY* key) {
    if (key == nullptr) {
        return fail("no public key");
    }
    if (EVP_PKEY_is_a(key, "EC") == 1) {
        char group[80] = {};
        std::size_t length = 0;
        if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) != 1) {
            ERR_clear_error();
            return fail("EC key with an unnamed curve is refused (P-256 or P-384 is required)");
        }
        int nid = OBJ_sn2nid(group);
        if (nid == NID_undef) {
            nid = EC_curve_nist2nid(group);
        }
        if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1) {
            return fail(std::string("EC key on curve ") + group + " is refused (P-256 or P-384 is required)");
        }
        return success();
    }
    if (EVP_PKEY_is_a(key, "RSA") == 1) {
        const int bits = EVP_PKEY_get_bits(key);
        if (bits < kMinRsaBits || bits > kMaxRsaBits) {
            return fail("RSA key of " + std::to_string(bits) + " bits is refused (" +
                        std::to_string(kMinRsaBits) + " to " + std::to_string(kMaxRsaBits) +
                        " bits are accepted)");
        }
        return success();
    }
    const char* type = EVP_PKEY_get0_type_name(key);
    return fail(std::string(type != nullptr ? type : "unknown") +
                " key is refused (EC P-256, P-384 or RSA of at least 2048 bits is required)");
}

bool key_matches_certificate(EVP_PKEY* key, X509* certificate) {
    ERR_clear_error();
    bool matches = X509_check_private_key(certificate, key) == 1;
    ERR_clear_error();
    return matches;
}

}  // namespace agentlb::certs
