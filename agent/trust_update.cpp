#include "agent/trust_update.hpp"

#include "certs/fingerprint.hpp"
#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "certs/rotation.hpp"
#include "certs/verify.hpp"
#include "common/util/text.hpp"

#include <openssl/x509.h>

#include <algorithm>
#include <set>

namespace agentlb::agent {

namespace {

// A server picks the names of what it sends: escape and bound them.
std::string describe(X509* certificate) {
    return util::peer_text(certs::common_name_of(certificate), util::kShownTextBytes, util::Quoted::yes) +
           " (" + certs::fingerprint_of(certificate) + ")";
}

bool contains(const std::vector<certs::X509Ptr>& set, X509* certificate) {
    return std::any_of(
        set.begin(), set.end(), [&](const certs::X509Ptr& c) { return X509_cmp(c.get(), certificate) == 0; });
}

// Why no CA of `trusted` vouches for `candidate` (the first one's reason),
// or "" when one does.
std::string vouch_problem(const std::vector<certs::X509Ptr>& trusted, X509* candidate, std::int64_t now) {
    std::string first;
    for (const auto& anchor : trusted) {
        auto vouched = certs::check_vouched_ca(anchor.get(), candidate, now);
        if (vouched) {
            return {};
        }
        if (first.empty()) {
            first = vouched.error();
        }
    }
    return first.empty() ? "no CA we trust vouches for it" : "no CA we trust vouches for it: " + first;
}

// A CA we already trust under another certificate (a cross certificate of
// our root: same name and key), or the CA our root replaced (it vouches for a
// listed cross certificate of our root): what an agent enrolled during a
// rotation is sent. Not needed, so not adopted, and not a refusal either.
bool predecessor_of_trusted(const std::vector<certs::X509Ptr>& trusted,
                            const std::vector<certs::X509Ptr>& listed,
                            X509* candidate,
                            std::int64_t now) {
    const auto ours = [&](X509* certificate) {
        return std::any_of(trusted.begin(), trusted.end(), [&](const certs::X509Ptr& anchor) {
            return certs::same_subject_and_key(anchor.get(), certificate);
        });
    };
    if (ours(candidate)) {
        return true;
    }
    return std::any_of(listed.begin(), listed.end(), [&](const certs::X509Ptr& cross) {
        return cross.get() != candidate && ours(cross.get()) &&
               certs::check_vouched_ca(candidate, cross.get(), now).ok();
    });
}

}  // namespace

std::vector<std::string> bundle_fingerprints(const std::string& bundle_pem) {
    std::vector<std::string> out;
    auto parsed = certs::parse_certificates_pem(bundle_pem);
    if (!parsed) {
        return out;
    }
    for (const auto& certificate : *parsed) {
        out.push_back(certs::fingerprint_of(certificate.get()));
    }
    return out;
}

Result<TrustUpdate> apply_trust(const std::string& current_bundle_pem,
                                const wire::Trust& message,
                                std::int64_t now) {
    auto current = certs::parse_certificates_pem(current_bundle_pem);
    if (!current) {
        return fail("our CA file does not parse: " + current.error());
    }
    TrustUpdate out;
    std::vector<certs::X509Ptr> listed;
    for (std::size_t i = 0; i < message.cas.size(); ++i) {
        auto parsed = certs::parse_certificate_pem(message.cas[i]);
        if (!parsed) {
            out.refused.push_back("certificate " + std::to_string(i + 1) + ": " + parsed.error());
            continue;
        }
        listed.push_back(std::move(parsed).value());
    }

    // First what we hold already or what a CA we hold vouches for...
    std::vector<bool> taken(listed.size(), false);
    std::vector<std::string> problems(listed.size());
    for (std::size_t i = 0; i < listed.size(); ++i) {
        X509* candidate = listed[i].get();
        if (contains(*current, candidate)) {
            taken[i] = true;
        } else {
            problems[i] = vouch_problem(*current, candidate, now);
            taken[i] = problems[i].empty();
        }
    }
    // ...then a self-signed successor whose cross certificate was accepted:
    // same name, same key, so it vouches for exactly what the cross does.
    for (std::size_t i = 0; i < listed.size(); ++i) {
        if (taken[i]) {
            continue;
        }
        X509* candidate = listed[i].get();
        bool twin = false;
        for (std::size_t j = 0; j < listed.size() && !twin; ++j) {
            twin = taken[j] && X509_self_signed(listed[j].get(), 0) != 1 &&
                   certs::same_subject_and_key(listed[j].get(), candidate);
        }
        twin = twin && X509_self_signed(candidate, 1) == 1;
        if (twin) {
            if (auto valid = certs::check_vouched_ca(candidate, candidate, now); valid) {
                taken[i] = true;
                continue;
            } else {
                problems[i] = valid.error();
            }
        }
        if (predecessor_of_trusted(*current, listed, candidate, now)) {
            out.skipped.push_back(describe(candidate));
            continue;
        }
        out.refused.push_back(describe(candidate) + ": " + problems[i]);
    }
    std::vector<certs::X509Ptr> accepted;  // in the message's order, each once
    for (std::size_t i = 0; i < listed.size(); ++i) {
        if (taken[i] && !contains(accepted, listed[i].get())) {
            accepted.push_back(std::move(listed[i]));
        }
    }

    if (accepted.empty()) {
        out.bundle_pem = current_bundle_pem;
        out.trusts = bundle_fingerprints(current_bundle_pem);
        return out;
    }
    for (const auto& certificate : accepted) {
        if (!contains(*current, certificate.get())) {
            out.added.push_back(describe(certificate.get()));
        }
        out.trusts.push_back(certs::fingerprint_of(certificate.get()));
    }
    for (const auto& certificate : *current) {
        if (!contains(accepted, certificate.get())) {
            out.dropped.push_back(describe(certificate.get()));
        }
    }
    out.changed = !out.added.empty() || !out.dropped.empty();
    out.bundle_pem = out.changed ? certs::to_pem_bundle(accepted) : current_bundle_pem;
    if (!out.changed) {
        out.trusts = bundle_fingerprints(current_bundle_pem);
    }
    return out;
}

}  // namespace agentlb::agent
