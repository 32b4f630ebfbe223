#include "agent/renewal_check.hpp"

#include "certs/fingerprint.hpp"
#include "certs/inspect.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "certs/verify.hpp"
#include "common/util/text.hpp"

#include <openssl/x509.h>

#include <algorithm>

namespace agentlb::agent {

namespace {

// DER, so that the same CA written with other line breaks counts as the same.
bool same_certificate(X509* a, X509* b) {
    return X509_cmp(a, b) == 0;
}

}  // namespace

Result<RenewalCheck> check_renewed_certificate(const std::string& pinned_ca_pem,
                                               const std::string& pending_key_pem,
                                               const std::string& name,
                                               const wire::Certificate& message,
                                               std::int64_t now) {
    auto pinned = certs::parse_certificates_pem(pinned_ca_pem);
    if (!pinned) {
        return fail("our CA file does not parse: " + pinned.error());
    }
    auto cert = certs::parse_certificate_pem(message.certificate);
    if (!cert) {
        return fail("the certificate does not parse: " + cert.error());
    }
    auto key = certs::parse_private_key_pem(pending_key_pem);
    if (!key || !certs::key_matches_certificate(key->get(), cert->get())) {
        return fail("the certificate is not for our new key");
    }

    RenewalCheck out;
    out.renewed.ca_pem = pinned_ca_pem;
    if (!message.ca.empty()) {
        auto offered = certs::parse_certificate_pem(message.ca);
        if (!offered) {
            return fail("the CA certificate sent with it does not parse: " + offered.error());
        }
        const bool known = std::any_of(pinned->begin(), pinned->end(), [&](const certs::X509Ptr& ca) {
            return same_certificate(offered->get(), ca.get());
        });
        if (!known) {
            std::string refusal;
            for (const auto& ca : *pinned) {
                auto vouched = certs::check_vouched_ca(ca.get(), offered->get(), now);
                if (vouched) {
                    refusal.clear();
                    break;
                }
                if (refusal.empty()) {
                    refusal = vouched.error();
                }
            }
            if (!refusal.empty()) {
                return fail("the server sent another CA certificate (" +
                            util::peer_text(certs::common_name_of(offered->get()),
                                            util::kShownTextBytes,
                                            util::Quoted::yes) +
                            ", " + certs::fingerprint_of(offered->get()) +
                            ") that our CA does not vouch for: " + refusal);
            }
            // Added, not replacing: servers still using the old CA's
            // certificates must stay reachable during a rotation.
            out.renewed.ca_pem = pinned_ca_pem;
            if (!out.renewed.ca_pem.empty() && out.renewed.ca_pem.back() != '\n') {
                out.renewed.ca_pem += '\n';
            }
            out.renewed.ca_pem += message.ca;
            out.new_ca = true;
        }
    }
    // Against the CA we keep: the pinned one, or its vouched successor.
    if (auto verified = certs::verify_certificate_chain(cert->get(), out.renewed.ca_pem, message.chain, now);
        !verified) {
        return fail("the certificate does not verify against " +
                    std::string(out.new_ca ? "the CA our CA vouches for" : "our CA") + ": " +
                    verified.error());
    }
    if (const std::string cn = certs::common_name_of(cert->get()); cn != name) {
        return fail("the certificate names " + util::peer_text(cn, util::kShownTextBytes, util::Quoted::yes) +
                    ", not " + util::peer_text(name, util::kShownTextBytes, util::Quoted::yes));
    }
    out.renewed.key_pem = pending_key_pem;
    // The leaf, then (an imported CA) what links it to the root: one file.
    out.renewed.cert_pem = message.certificate + message.chain;
    out.renewed.certificate = std::move(*cert);
    return out;
}

RenewalDecision decide_renewal(X509* certificate,
                               const std::optional<wire::Renewal>& policy,
                               std::int64_t now) {
    RenewalDecision decision;
    if (!policy) {
        decision.due = certs::needs_renewal(certificate, now);
        return decision;
    }
    decision.automatic = policy->automatic;
    if (auto type = certs::key_type_from_string(policy->key_type)) {
        decision.key_type = *type;
    } else {
        decision.note = "unknown key type " +
                        util::peer_text(policy->key_type, util::kShownTextBytes, util::Quoted::yes) +
                        " sent: using p256";
    }
    std::int64_t permille = policy->fraction_permille;
    if (permille < 100 || permille > 950) {
        decision.note += std::string(decision.note.empty() ? "" : "; ") + "renewal fraction " +
                         std::to_string(permille) + "/1000 out of range: renewing at two thirds";
        permille = 667;
    }
    decision.due = decision.automatic && now >= certs::renewal_time(certificate, static_cast<int>(permille));
    return decision;
}

}  // namespace agentlb::agent
