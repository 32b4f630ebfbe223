#include "certs/ca_chain.hpp"

#include "certs/fingerprint.hpp"
#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "common/util/rfc3339.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <ctime>

namespace agentlb::certs {
namespace {

std::string subject_text(X509* certificate) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253) < 0) {
        ERR_clear_error();
        return "(unreadable subject)";
    }
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string("(empty subject)");
}

Status check_dates(X509* certificate, std::int64_t now) {
    const time_t at = static_cast<time_t>(now);
    const int starts = ASN1_TIME_cmp_time_t(X509_get0_notBefore(certificate), at);
    const int ends = ASN1_TIME_cmp_time_t(X509_get0_notAfter(certificate), at);
    if (starts == -2 || ends == -2) {
        return fail("its validity dates cannot be read");
    }
    if (starts > 0) {
        return fail("it is not valid before " + util::format_rfc3339(not_before_of(certificate)));
    }
    if (ends < 0) {
        return fail("it expired on " + util::format_rfc3339(not_after_of(certificate)));
    }
    return success();
}

std::string position(std::size_t index, X509* certificate) {
    return "certificate " + std::to_string(index + 1) + " of the chain (" +
           describe_certificate(certificate) + ")";
}

}  // namespace

std::string describe_certificate(X509* certificate) {
    const std::string cn = common_name_of(certificate);
    return cn.empty() ? subject_text(certificate) : "CN=" + cn;
}

Status check_issuing_ca(X509* ca) {
    ERR_clear_error();
    const std::uint32_t flags = X509_get_extension_flags(ca);
    if ((flags & EXFLAG_CA) == 0) {
        return fail("it is not a CA certificate (no basicConstraints CA:TRUE)");
    }
    // UINT32_MAX: no keyUsage extension at all.
    const std::uint32_t usage = X509_get_key_usage(ca);
    if (usage == UINT32_MAX || (usage & KU_KEY_CERT_SIGN) == 0) {
        return fail("its keyUsage does not allow keyCertSign, so it may not issue certificates");
    }
    return success();
}

Status check_ca_chain(X509* ca, const std::vector<X509Ptr>& chain, std::int64_t now) {
    if (chain.empty()) {
        return fail("the chain is empty");
    }
    if (chain.size() > kMaxCaChainLength) {
        return fail("the chain holds " + std::to_string(chain.size()) + " certificates; at most " +
                    std::to_string(kMaxCaChainLength) + " (two intermediates and the root) are supported");
    }
    X509* below = ca;
    for (std::size_t i = 0; i < chain.size(); ++i) {
        X509* issuer = chain[i].get();
        const std::string where = position(i, issuer);
        if (auto is_ca = check_issuing_ca(issuer); !is_ca) {
            return fail(where + ": " + is_ca.error());
        }
        ERR_clear_error();
        if (const int issued = X509_check_issued(issuer, below); issued != X509_V_OK) {
            ERR_clear_error();
            return fail(where + " did not issue " + describe_certificate(below) + " (" +
                        X509_verify_cert_error_string(issued) +
                        "): list the issuers nearest first, the root last");
        }
        EVP_PKEY* key = X509_get0_pubkey(issuer);
        if (key == nullptr || X509_verify(below, key) != 1) {
            ERR_clear_error();
            return fail("the signature of " + describe_certificate(below) +
                        " does not verify with the key of " + where);
        }
        if (auto dates = check_dates(issuer, now); !dates) {
            return fail(where + ": " + dates.error());
        }
        below = issuer;
    }
    ERR_clear_error();
    if (X509_self_signed(below, 1) != 1) {
        ERR_clear_error();
        return fail("the chain does not end at a self-signed root: its last certificate (" +
                    describe_certificate(below) +
                    ") is issued by another CA; append that CA's issuers up to the root");
    }
    // What the handshakes will do: strict checks, path length constraints.
    X509StorePtr store(X509_STORE_new());
    X509StackPtr untrusted(sk_X509_new_null());
    X509StoreCtxPtr context(X509_STORE_CTX_new());
    if (!store || !untrusted || !context || X509_STORE_add_cert(store.get(), below) != 1 ||
        X509_STORE_set_flags(store.get(), X509_V_FLAG_X509_STRICT) != 1) {
        return fail(openssl_failure("cannot prepare the verification of the chain"));
    }
    // The stack frees what it holds: each entry is a new reference.
    for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
        if (X509_up_ref(chain[i].get()) != 1) {
            return fail(openssl_failure("cannot prepare the verification of the chain"));
        }
        if (sk_X509_push(untrusted.get(), chain[i].get()) <= 0) {
            X509_free(chain[i].get());
            return fail(openssl_failure("cannot prepare the verification of the chain"));
        }
    }
    if (X509_STORE_CTX_init(context.get(), store.get(), ca, untrusted.get()) != 1) {
        return fail(openssl_failure("cannot prepare the verification of the chain"));
    }
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(context.get()), static_cast<time_t>(now));
    if (X509_verify_cert(context.get()) != 1) {
        const int error = X509_STORE_CTX_get_error(context.get());
        X509* current = X509_STORE_CTX_get_current_cert(context.get());
        ERR_clear_error();
        return fail("the chain does not verify up to the root" +
                    (current != nullptr ? " at " + describe_certificate(current) : std::string()) + ": " +
                    X509_verify_cert_error_string(error));
    }
    return success();
}

Result<std::string> root_fingerprint_of_chain(std::string_view chain_pem) {
    auto chain = parse_certificates_pem(chain_pem);
    if (!chain) {
        return fail("the CA chain: " + chain.error());
    }
    return fingerprint_of(chain->back().get());
}

Result<std::string> pem_after_first(std::string_view pem) {
    auto certificates = parse_certificates_pem(pem);
    if (!certificates) {
        return fail(certificates.error());
    }
    std::string rest;
    for (std::size_t i = 1; i < certificates->size(); ++i) {
        rest += to_pem((*certificates)[i].get());
    }
    return rest;
}

}  // namespace agentlb::certs
