#include "certs/verify.hpp"

#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "common/util/rfc3339.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cstdint>

namespace agentlb::certs {

bool is_foreign_issuer_error(long verify_result) {
    switch (verify_result) {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_CERT_SIGNATURE_FAILURE:
            return true;
        default:
            return false;
    }
}

namespace {

std::string purpose_text(CertificateKind kind) {
    return kind == CertificateKind::agent ? "client authentication (agent)" : "server authentication";
}

std::string chain_failure(X509_STORE_CTX* context, X509* leaf, CertificateKind expected) {
    const int error = X509_STORE_CTX_get_error(context);
    const bool at_leaf = X509_STORE_CTX_get_error_depth(context) == 0;
    X509* current = X509_STORE_CTX_get_current_cert(context);
    X509* dated = current != nullptr ? current : leaf;
    const std::string which = at_leaf ? "certificate" : "CA certificate";
    if (is_foreign_issuer_error(error) || error == X509_V_ERR_AKID_SKID_MISMATCH ||
        error == X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH) {
        return "certificate not issued by this CA (" + std::string(X509_verify_cert_error_string(error)) +
               ")";
    }
    switch (error) {
        case X509_V_ERR_CERT_HAS_EXPIRED:
            return which + " expired on " + util::format_rfc3339(not_after_of(dated));
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return which + " is not valid before " + util::format_rfc3339(not_before_of(dated));
        case X509_V_ERR_INVALID_PURPOSE:
            return which + " is not valid for " + purpose_text(expected);
        default:
            return which + " refused: " + X509_verify_cert_error_string(error);
    }
}

}  // namespace

Result<X509StorePtr> make_ca_store(const std::string& ca_pem) {
    auto cas = parse_certificates_pem(ca_pem);
    if (!cas) {
        return fail("CA certificate: " + cas.error());
    }
    bool all_self_signed = true;
    for (const X509Ptr& ca : cas.value()) {
        if (X509_check_ca(ca.get()) == 0) {
            return fail("the CA certificate (" + common_name_of(ca.get()) + ") is not a CA certificate");
        }
        all_self_signed = all_self_signed && X509_self_signed(ca.get(), 0) == 1;
    }
    ERR_clear_error();
    // A root ends every chain anyway; a vouched successor or an intermediate
    // must end it too, since its issuer is deliberately not in the store.
    const unsigned long flags = X509_V_FLAG_X509_STRICT | (all_self_signed ? 0UL : X509_V_FLAG_PARTIAL_CHAIN);
    X509StorePtr store(X509_STORE_new());
    if (!store || X509_STORE_set_flags(store.get(), flags) != 1) {
        return fail(openssl_failure("cannot build a certificate store for the CA"));
    }
    for (const X509Ptr& ca : cas.value()) {
        // The same CA twice in a bundle is harmless: OpenSSL keeps one.
        if (X509_STORE_add_cert(store.get(), ca.get()) != 1) {
            return fail(openssl_failure("cannot add the CA certificate (" + common_name_of(ca.get()) +
                                        ") to the certificate store"));
        }
    }
    return store;
}

LeafCheck check_leaf(X509* leaf, const RevocationList* revoked, CertificateKind expected) {
    if (X509_check_ca(leaf) != 0) {
        return LeafCheck{
            LeafProblem::bad_certificate,
            "certificate is a CA certificate, not an " + std::string(to_string(expected)) + " certificate"};
    }
    // UINT32_MAX means "no extendedKeyUsage extension": ours always have one.
    const std::uint32_t usage = X509_get_extended_key_usage(leaf);
    if (usage == UINT32_MAX) {
        return LeafCheck{LeafProblem::bad_certificate,
                         "certificate has no extendedKeyUsage, so it was not issued by agentlb"};
    }
    if (expected == CertificateKind::agent) {
        if ((usage & XKU_SSL_CLIENT) == 0) {
            return LeafCheck{LeafProblem::bad_certificate,
                             "certificate is not valid for " + purpose_text(expected)};
        }
        if ((usage & XKU_SSL_SERVER) != 0) {
            return LeafCheck{LeafProblem::bad_certificate,
                             "certificate is a server certificate, not an agent certificate"};
        }
    } else if ((usage & XKU_SSL_SERVER) == 0) {
        return LeafCheck{LeafProblem::bad_certificate,
                         "certificate is not valid for " + purpose_text(expected)};
    }
    if (revoked != nullptr) {
        std::string serial = serial_of(leaf);
        if (revoked->is_revoked(serial)) {
            return LeafCheck{LeafProblem::revoked, "certificate revoked (serial " + serial + ")"};
        }
    }
    return {};
}

namespace {

Status verify_with_untrusted(X509* leaf,
                             X509_STORE* ca_store,
                             STACK_OF(X509) * untrusted,
                             std::int64_t now,
                             const RevocationList* revoked,
                             CertificateKind expected) {
    if (leaf == nullptr) {
        return fail("no certificate");
    }
    ERR_clear_error();
    X509StoreCtxPtr context(X509_STORE_CTX_new());
    if (!context || X509_STORE_CTX_init(context.get(), ca_store, leaf, untrusted) != 1) {
        return fail(openssl_failure("cannot prepare certificate verification"));
    }
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(context.get()), static_cast<time_t>(now));
    if (X509_STORE_CTX_set_purpose(
            context.get(),
            expected == CertificateKind::agent ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER) != 1) {
        return fail(openssl_failure("cannot set the verification purpose"));
    }
    if (X509_verify_cert(context.get()) != 1) {
        std::string reason = chain_failure(context.get(), leaf, expected);
        ERR_clear_error();
        return fail(reason);
    }
    if (auto leaf_check = check_leaf(leaf, revoked, expected); !leaf_check) {
        return fail(std::move(leaf_check.reason));
    }
    return success();
}

}  // namespace

Status verify_certificate(X509* leaf,
                          X509_STORE* ca_store,
                          std::int64_t now,
                          const RevocationList* revoked,
                          CertificateKind expected) {
    return verify_with_untrusted(leaf, ca_store, nullptr, now, revoked, expected);
}

Status verify_certificate_chain(X509* leaf,
                                const std::string& ca_pem,
                                const std::string& chain_pem,
                                std::int64_t now,
                                const RevocationList* revoked,
                                CertificateKind expected) {
    auto store = make_ca_store(ca_pem);
    if (!store) {
        return fail(store.error());
    }
    if (chain_pem.empty()) {
        return verify_certificate(leaf, store->get(), now, revoked, expected);
    }
    auto chain = parse_certificates_pem(chain_pem);
    if (!chain) {
        return fail("chain: " + chain.error());
    }
    X509StackPtr untrusted(sk_X509_new_null());
    if (!untrusted) {
        return fail(openssl_failure("cannot prepare certificate verification"));
    }
    // The stack owns what it holds (X509StackPtr frees its certificates).
    for (auto& certificate : chain.value()) {
        if (sk_X509_push(untrusted.get(), certificate.get()) <= 0) {
            return fail(openssl_failure("cannot prepare certificate verification"));
        }
        certificate.release();
    }
    return verify_with_untrusted(leaf, store->get(), untrusted.get(), now, revoked, expected);
}

Status verify_certificate(X509* leaf,
                          const std::string& ca_pem,
                          std::int64_t now,
                          const RevocationList* revoked,
                          CertificateKind expected) {
    auto store = make_ca_store(ca_pem);
    if (!store) {
        return fail(store.error());
    }
    return verify_certificate(leaf, store->get(), now, revoked, expected);
}

Status check_vouched_ca(X509* trusted, X509* candidate, std::int64_t now) {
    if (trusted == nullptr || candidate == nullptr) {
        return fail("no CA certificate");
    }
    ERR_clear_error();
    // Issuer name (and authorityKeyIdentifier, when present) against the
    // trusted CA's subject (and subjectKeyIdentifier); keyCertSign of `trusted`.
    if (const int issued = X509_check_issued(trusted, candidate); issued != X509_V_OK) {
        ERR_clear_error();
        return fail("it was not issued by the trusted CA (" +
                    std::string(X509_verify_cert_error_string(issued)) + ")");
    }
    EVP_PKEY* trusted_key = X509_get0_pubkey(trusted);
    if (trusted_key == nullptr || X509_verify(candidate, trusted_key) != 1) {
        ERR_clear_error();
        return fail("its signature does not verify with the trusted CA's key");
    }
    if ((X509_get_extension_flags(candidate) & EXFLAG_CA) == 0 || X509_check_ca(candidate) != 1) {
        return fail("it is not a CA certificate (basicConstraints CA:TRUE with keyCertSign)");
    }
    const time_t at = static_cast<time_t>(now);
    const int starts = ASN1_TIME_cmp_time_t(X509_get0_notBefore(candidate), at);
    const int ends = ASN1_TIME_cmp_time_t(X509_get0_notAfter(candidate), at);
    if (starts == -2 || ends == -2) {
        return fail("its validity dates cannot be read");
    }
    if (starts > 0) {
        return fail("it is not valid before " + util::format_rfc3339(not_before_of(candidate)));
    }
    if (ends < 0) {
        return fail("it expired on " + util::format_rfc3339(not_after_of(candidate)));
    }
    return success();
}

}  // namespace agentlb::certs
