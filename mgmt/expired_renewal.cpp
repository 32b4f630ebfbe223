#include "mgmt/expired_renewal.hpp"

#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "certs/possession.hpp"
#include "certs/verify.hpp"
#include "common/lb/certificate_settings.hpp"
#include "common/lb/scoped_config.hpp"
#include "common/util/rfc3339.hpp"
#include "common/util/text.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <stdexcept>
#include <utility>

namespace agentlb::mgmt {
namespace {

using protocol::EnrollRefusal;
using wire::ErrorCode;

EnrollRefusal refusal(ErrorCode code, std::string text) {
    return EnrollRefusal{code, std::move(text)};
}

std::string reissue_hint(std::string_view host) {
    return "re-enrol with a token (agentlbctl cert reissue " + util::peer_text(host) + ")";
}

// The chain to the CA and the purpose, dates aside: the leaf has expired by
// definition, and a CA re-issued since (new notBefore) still vouches for it.
// (verify_certificate checks at a time, which always checks dates.)
Status chains_to_ca(X509* leaf, const std::string& ca_pem) {
    auto store = certs::make_ca_store(ca_pem);
    if (!store) {
        return fail(store.error());
    }
    ERR_clear_error();
    certs::X509StoreCtxPtr context(X509_STORE_CTX_new());
    if (!context || X509_STORE_CTX_init(context.get(), store->get(), leaf, nullptr) != 1 ||
        X509_STORE_CTX_set_purpose(context.get(), X509_PURPOSE_SSL_CLIENT) != 1) {
        ERR_clear_error();
        return fail("cannot prepare certificate verification");
    }
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(context.get()), X509_V_FLAG_NO_CHECK_TIME);
    if (X509_verify_cert(context.get()) != 1) {
        const int error = X509_STORE_CTX_get_error(context.get());
        ERR_clear_error();
        if (certs::is_foreign_issuer_error(error)) {
            return fail("certificate not issued by this CA (" +
                        std::string(X509_verify_cert_error_string(error)) + ")");
        }
        return fail("certificate refused: " + std::string(X509_verify_cert_error_string(error)));
    }
    if (auto leaf_check = certs::check_leaf(leaf, nullptr, certs::CertificateKind::agent); !leaf_check) {
        return fail(leaf_check.reason);
    }
    return success();
}

// What the store said, or the refusal, before anything is written.
struct Decision {
    std::optional<store::HostRecord> host;
    std::optional<EnrollRefusal> refused;
    // ca.framework.cert.validity.period where the host is.
    std::chrono::seconds validity = certs::kDefaultCertificateValidity;
};

Decision decide(const ExpiredCertificate& expired, store::Store& store, std::int64_t now) {
    const std::string name = util::peer_text(expired.name);
    if (store.is_revoked(expired.serial)) {
        return {std::nullopt,
                refusal(ErrorCode::revoked,
                        "certificate " + expired.serial + " of " + name +
                            " is revoked (or its host was removed): it cannot be renewed; " +
                            reissue_hint(expired.name))};
    }
    auto host = store.find_host(expired.name);
    if (!host) {
        return {std::nullopt,
                refusal(ErrorCode::enrollment_refused,
                        "no host named " + name +
                            " is registered: enrol it with a token (agentlbctl token create)")};
    }
    const auto records = store.certificates_of(host->name);
    const auto record = std::find_if(records.begin(), records.end(), [&](const store::CertificateRecord& r) {
        return r.serial == expired.serial && r.host_id == host->id;
    });
    if (record == records.end()) {
        return {std::nullopt,
                refusal(ErrorCode::enrollment_refused,
                        "certificate " + expired.serial + " was not issued to host " + name + " (id " +
                            std::to_string(host->id) + "): " + reissue_hint(host->name))};
    }
    if (record->superseded) {
        // Renewed since (over the agent port): the old key may linger on a
        // backup or a disk thrown away, and must not mint a new certificate.
        return {
            std::nullopt,
            refusal(ErrorCode::enrollment_refused,
                    "certificate " + expired.serial + " of " + name +
                        " was replaced by a newer one: only the host's newest certificate can be renewed; " +
                        reissue_hint(host->name))};
    }
    const auto place = lb::ConfigScope{host->zone, host->cluster};
    auto settings = lb::certificate_settings_from_config(lb::effective_values(store.scoped_config(), place));
    if (!settings) {
        // The store validates on write: only a hand-edited value gets here. Renew nothing.
        return {std::nullopt,
                refusal(ErrorCode::expired_beyond_grace,
                        "expired certificates are not renewed (the settings of " + lb::describe_scope(place) +
                            " are unusable: " + settings.error() + ")")};
    }
    const std::chrono::seconds grace = settings->expired_grace_period;
    if (grace.count() == 0) {
        return {std::nullopt,
                refusal(ErrorCode::expired_beyond_grace,
                        "expired certificates are not renewed (" + std::string(lb::kExpiredGracePeriodKey) +
                            " is 0)")};
    }
    if (now - expired.not_after > grace.count()) {
        return {std::nullopt,
                refusal(ErrorCode::expired_beyond_grace,
                        "certificate expired on " + util::format_rfc3339(expired.not_after) +
                            ", more than the grace period (" + lb::describe_duration(grace) +
                            ") ago: " + reissue_hint(host->name))};
    }
    return {std::move(host), std::nullopt, settings->agent_validity};
}

}  // namespace

std::variant<ExpiredCertificate, EnrollRefusal> check_expired_certificate(
    const wire::RenewExpired& request,
    const certs::CertificateAuthority& ca,
    std::string_view exporter,
    std::int64_t now) {
    return check_expired_certificate(request, ca.certificate_pem(), exporter, now);
}

std::variant<ExpiredCertificate, EnrollRefusal> check_expired_certificate(const wire::RenewExpired& request,
                                                                          const std::string& trust_pem,
                                                                          std::string_view exporter,
                                                                          std::int64_t now) {
    auto certificate = certs::parse_certificate_pem(request.certificate);
    if (!certificate) {
        return refusal(ErrorCode::bad_certificate, "certificate: " + certificate.error());
    }
    X509* leaf = certificate->get();
    ExpiredCertificate expired{
        certs::serial_of(leaf), certs::common_name_of(leaf), certs::not_after_of(leaf)};
    if (auto verified = chains_to_ca(leaf, trust_pem); !verified) {
        return refusal(ErrorCode::bad_certificate, verified.error());
    }
    if (expired.not_after >= now) {
        return refusal(ErrorCode::bad_request,
                       "the certificate is still valid (until " + util::format_rfc3339(expired.not_after) +
                           "): renew it over the agent port");
    }
    if (auto csr = certs::parse_csr_pem(request.csr); !csr) {
        return refusal(ErrorCode::bad_csr, "csr: " + csr.error());
    }
    if (exporter.empty()) {
        return refusal(ErrorCode::bad_request, "this connection has no TLS exporter value to bind to");
    }
    if (auto proven = certs::verify_channel_proof(leaf, exporter, request.csr, request.signature); !proven) {
        return refusal(ErrorCode::bad_request, "signature: " + proven.error());
    }
    return expired;
}

protocol::EnrollRedeemed redeem_expired_certificate(const wire::RenewExpired& request,
                                                    const ExpiredCertificate& expired,
                                                    store::Store& store,
                                                    const certs::CertificateAuthority& ca,
                                                    const ClusterSnapshot& snapshot,
                                                    std::int64_t now) {
    store::HostRecord host;
    store::IssuedCertificate recorded;
    std::vector<std::int64_t> ids;
    try {
        auto decision = decide(expired, store, now);
        if (decision.refused) {
            return std::move(*decision.refused);
        }
        host = std::move(*decision.host);
        certs::IssueOptions options;
        options.kind = certs::CertificateKind::agent;
        options.common_name = host.name;
        options.validity = decision.validity;
        auto issued = ca.issue(request.csr, options);
        if (!issued) {
            return refusal(ErrorCode::bad_csr, "csr: " + issued.error());
        }
        recorded = store::IssuedCertificate{issued->pem, issued->serial, issued->not_after, ca.fingerprint()};
        store.record_certificate(host.id, recorded);
        // Recorded first: a failure in between leaves the old certificate
        // able to try again. Once revoked, the old key never renews again.
        if (auto revoked = store.revoke_certificate(expired.serial, now); !revoked) {
            throw std::runtime_error("revoking the replaced certificate " + expired.serial + ": " +
                                     revoked.error());
        }
        ids = store.host_ids_in_zone(host.zone);
    } catch (const std::exception& e) {
        return protocol::EnrollStoreUnavailable{e.what()};
    }
    const lb::ConfigScope place{host.zone, host.cluster};
    const auto assignment = compute_assignment(snapshot, place, ids, host.id);
    protocol::EnrollGranted granted;
    wire::EnrollResponse& response = granted.response;
    response.host_id = host.id;
    response.name = host.name;
    response.zone = host.zone;
    response.certificate = recorded.pem;
    // An imported CA: the organisation's root the agent pins, and what links the leaf to it.
    response.ca = ca.trust_anchor_pem();
    response.chain = ca.intermediates_pem();
    response.list = assignment.list;
    response.algorithm = assignment.algorithm;
    response.interval = assignment.interval;
    granted.renewed_serial = expired.serial;
    return granted;
}

}  // namespace agentlb::mgmt
