// CertificateAuthority::issue: from a peer's CSR to a signed certificate.

#include "certs/ca.hpp"
#include "certs/inspect.hpp"
#include "certs/keys.hpp"
#include "certs/name.hpp"
#include "certs/pem.hpp"
#include "certs/x509_builder.hpp"
#include "common/util/clock.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace agentlb::certs {
namespace {

struct GeneralNamesDeleter {
    void operator()(GENERAL_NAMES* names) const noexcept { GENERAL_NAMES_free(names); }
};
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter>;
struct GeneralNameDeleter {
    void operator()(GENERAL_NAME* name) const noexcept { GENERAL_NAME_free(name); }
};
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, GeneralNameDeleter>;

std::int64_t to_unix(std::chrono::system_clock::time_point time) {
    return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

std::string_view without_brackets(std::string_view address) {
    if (address.size() >= 2 && address.front() == '[' && address.back() == ']') {
        return address.substr(1, address.size() - 2);
    }
    return address;
}

Status check_options(const IssueOptions& options) {
    if (auto valid = validate_common_name(options.common_name); !valid) {
        return valid;
    }
    for (const auto& name : options.dns_names) {
        if (auto valid = validate_dns_name(name); !valid) {
            return valid;
        }
    }
    if (options.kind == CertificateKind::server && options.dns_names.empty() &&
        options.ip_addresses.empty()) {
        return fail("a server certificate needs at least one DNS name or IP address");
    }
    if (!options.not_after_override && options.validity.count() <= 0) {
        return fail("certificate validity must be positive (got " + std::to_string(options.validity.count()) +
                    " s)");
    }
    return success();
}

Result<GeneralNamePtr> make_general_name(int type, std::string_view value) {
    ERR_clear_error();
    GeneralNamePtr name(GENERAL_NAME_new());
    if (!name) {
        return fail(openssl_failure("out of memory"));
    }
    if (type == GEN_DNS) {
        ASN1_IA5STRING* text = ASN1_IA5STRING_new();
        if (text == nullptr || ASN1_STRING_set(text, value.data(), static_cast<int>(value.size())) != 1) {
            ASN1_IA5STRING_free(text);
            return fail(openssl_failure("cannot encode DNS name '" + std::string(value) + "'"));
        }
        GENERAL_NAME_set0_value(name.get(), GEN_DNS, text);
        return name;
    }
    const std::string address(without_brackets(value));
    ASN1_OCTET_STRING* bytes = a2i_IPADDRESS(address.c_str());
    if (bytes == nullptr) {
        ERR_clear_error();
        return fail("'" + std::string(value) + "' is not an IPv4 or IPv6 address");
    }
    GENERAL_NAME_set0_value(name.get(), GEN_IPADD, bytes);
    return name;
}

Status add_subject_alt_names(X509* certificate, const IssueOptions& options) {
    if (options.dns_names.empty() && options.ip_addresses.empty()) {
        return success();
    }
    GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
    if (!names) {
        return fail("out of memory");
    }
    auto push = [&](int type, const std::string& value) -> Status {
        auto name = make_general_name(type, value);
        if (!name) {
            return fail(name.error());
        }
        if (sk_GENERAL_NAME_push(names.get(), name->get()) <= 0) {
            return fail("out of memory");
        }
        name->release();  // now owned by `names`
        return success();
    };
    for (const auto& dns : options.dns_names) {
        if (auto pushed = push(GEN_DNS, dns); !pushed) {
            return pushed;
        }
    }
    for (const auto& ip : options.ip_addresses) {
        if (auto pushed = push(GEN_IPADD, ip); !pushed) {
            return pushed;
        }
    }
    ERR_clear_error();
    // Not critical: the subject (CN) is not empty.
    if (X509_add1_ext_i2d(certificate, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
        return fail(openssl_failure("cannot add the subjectAltName extension"));
    }
    return success();
}

// The request must be well formed, carry an acceptable key, and be signed by
// that key (proof that the requester holds it).
Result<X509ReqPtr> checked_request(std::string_view csr_pem) {
    auto request = parse_csr_pem(csr_pem);
    if (!request) {
        return fail(request.error());
    }
    ERR_clear_error();
    EVP_PKEY* key = X509_REQ_get0_pubkey(request->get());
    if (key == nullptr) {
        return fail(openssl_failure("CSR has no usable public key"));
    }
    if (auto policy = check_key_policy(key); !policy) {
        return fail("CSR: " + policy.error());
    }
    if (X509_REQ_verify(request->get(), key) != 1) {
        ERR_clear_error();
        return fail("CSR signature does not verify (the request was altered or not signed by its own key)");
    }
    return std::move(request).value();
}

}  // namespace

Result<IssuedCertificate> CertificateAuthority::issue(std::string_view csr_pem,
                                                      const IssueOptions& options) const {
    if (auto valid = check_options(options); !valid) {
        return fail(valid.error());
    }
    auto request = checked_request(csr_pem);
    if (!request) {
        return fail(request.error());
    }
    auto subject = make_subject_name(options.common_name);
    if (!subject) {
        return fail(subject.error());
    }
    const std::int64_t now = util::unix_now();
    // Backdated for clock skew, but by at most a tenth of a short validity
    // (agentlb.ca.*.validity.period may be a minute): otherwise the renewal
    // point, a fraction of notBefore..notAfter, would already have passed.
    const std::int64_t backdate = backdate_for(options.validity.count());
    const std::int64_t not_before =
        options.not_before_override ? to_unix(*options.not_before_override) : now - backdate;
    const std::int64_t not_after =
        options.not_after_override ? to_unix(*options.not_after_override) : now + options.validity.count();

    ERR_clear_error();
    X509Ptr certificate(X509_new());
    if (!certificate || X509_set_version(certificate.get(), X509_VERSION_3) != 1 ||
        X509_set_issuer_name(certificate.get(), X509_get_subject_name(certificate_.get())) != 1 ||
        X509_set_subject_name(certificate.get(), subject->get()) != 1 ||
        X509_set_pubkey(certificate.get(), X509_REQ_get0_pubkey(request->get())) != 1) {
        return fail(openssl_failure("cannot build the certificate"));
    }
    if (auto serial = set_random_serial(certificate.get()); !serial) {
        return fail(serial.error());
    }
    if (auto validity = set_validity(certificate.get(), not_before, not_after); !validity) {
        return fail(validity.error());
    }
    const char* extended_usage =
        options.kind == CertificateKind::agent ? "clientAuth" : "serverAuth,clientAuth";
    auto extensions = add_extensions(certificate.get(),
                                     certificate_.get(),
                                     {{NID_basic_constraints, "critical,CA:FALSE"},
                                      {NID_key_usage, "critical,digitalSignature"},
                                      {NID_ext_key_usage, extended_usage},
                                      {NID_subject_key_identifier, "hash"},
                                      {NID_authority_key_identifier, "keyid:always"}});
    if (!extensions) {
        return fail(extensions.error());
    }
    if (auto names = add_subject_alt_names(certificate.get(), options); !names) {
        return fail(names.error());
    }
    ERR_clear_error();
    if (X509_sign(certificate.get(), key_.get(), EVP_sha256()) <= 0) {
        return fail(openssl_failure("cannot sign the certificate"));
    }
    return IssuedCertificate{to_pem(certificate.get()), serial_of(certificate.get()), not_after};
}

}  // namespace agentlb::certs
