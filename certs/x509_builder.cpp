#include "certs/x509_builder.hpp"

#include "common/util/clock.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <string>

namespace agentlb::certs {

Status set_random_serial(X509* certificate) {
    ERR_clear_error();
    std::array<unsigned char, 16> bytes{};
    bool zero = true;
    while (zero) {
        if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
            return fail(openssl_failure("cannot draw a random serial number"));
        }
        bytes[0] &= 0x7f;
        for (unsigned char b : bytes) {
            zero = zero && b == 0;
        }
    }
    BignumPtr number(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
    if (!number || BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(certificate)) == nullptr) {
        return fail(openssl_failure("cannot set the serial number"));
    }
    return success();
}

Status set_validity(X509* certificate, std::int64_t not_before, std::int64_t not_after) {
    if (not_after <= not_before) {
        return fail("certificate would end (" + std::to_string(not_after) + ") before it starts (" +
                    std::to_string(not_before) + ")");
    }
    ERR_clear_error();
    // ASN1_TIME_set picks UTCTime up to 2049 and GeneralizedTime after, as RFC 5280 asks.
    if (ASN1_TIME_set(X509_getm_notBefore(certificate), static_cast<time_t>(not_before)) == nullptr ||
        ASN1_TIME_set(X509_getm_notAfter(certificate), static_cast<time_t>(not_after)) == nullptr) {
        return fail(openssl_failure("cannot set the validity period"));
    }
    return success();
}

Status add_extension(X509* certificate, X509* issuer, int nid, const char* value) {
    ERR_clear_error();
    X509V3_CTX context;
    X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
    X509ExtensionPtr extension(X509V3_EXT_nconf_nid(nullptr, &context, nid, value));
    if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
        return fail(openssl_failure(std::string("cannot add the ") + OBJ_nid2sn(nid) + " extension"));
    }
    return success();
}

Status add_extensions(X509* certificate, X509* issuer, std::initializer_list<ExtensionSpec> extensions) {
    for (const auto& extension : extensions) {
        if (auto added = add_extension(certificate, issuer, extension.nid, extension.value); !added) {
            return added;
        }
    }
    return success();
}

Status set_ca_body(X509* certificate, std::int64_t now, std::int64_t validity_seconds) {
    if (auto serial = set_random_serial(certificate); !serial) {
        return serial;
    }
    if (auto validity = set_validity(certificate, now - kNotBeforeBackdateSeconds, now + validity_seconds);
        !validity) {
        return validity;
    }
    return add_extensions(certificate,
                          certificate,
                          {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                           {NID_key_usage, "critical,keyCertSign,cRLSign"},
                           {NID_subject_key_identifier, "hash"}});
}

}  // namespace agentlb::certs
