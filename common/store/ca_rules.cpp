#include "common/store/ca_rules.hpp"

#include "common/util/rfc3339.hpp"

namespace agentlb::store {

namespace {

std::string short_fingerprint(const std::string& fingerprint) {
    constexpr std::size_t kShown = 7 + 16;  // "sha256:" and 16 hex digits
    return fingerprint.size() > kShown ? fingerprint.substr(0, kShown) + "..." : fingerprint;
}

}  // namespace

std::optional<Failure> refuse_rotation(const std::vector<TrustedCa>& trusted, const CaRotation& rotation) {
    if (trusted.empty()) {
        return fail("the store has no CA to rotate: create one with `agentlbctl ca init`");
    }
    for (const auto& ca : trusted) {
        if (ca.state == kCaPrevious) {
            return fail("a CA rotation is already in progress (the previous CA " +
                        short_fingerprint(ca.fingerprint) +
                        " is still trusted): finish it first with `agentlbctl ca rotate --finish`");
        }
        if (ca.fingerprint == rotation.fingerprint) {
            return fail("the new CA " + short_fingerprint(rotation.fingerprint) + " is already trusted");
        }
    }
    const TrustedCa& active = trusted.front();
    if (active.fingerprint != rotation.expected_active) {
        return fail("the CA in the CA folder (" + rotation.expected_active +
                    ") is not the store's active CA (" + active.fingerprint +
                    "): rotate from the folder that holds the active CA");
    }
    return std::nullopt;
}

Result<TrustedCa> previous_ca(const std::vector<TrustedCa>& trusted) {
    for (const auto& ca : trusted) {
        if (ca.state == kCaPrevious) {
            return ca;
        }
    }
    return fail("no CA rotation in progress: nothing to finish (start one with `agentlbctl ca rotate`)");
}

Failure refuse_finish(const TrustedCa& previous,
                      const std::vector<BlockingCertificate>& listed,
                      std::int64_t total) {
    std::string text = "the previous CA (" + short_fingerprint(previous.fingerprint) + ") still has " +
                       std::to_string(total) + " certificate" + (total == 1 ? "" : "s") + " in use: ";
    for (std::size_t i = 0; i < listed.size(); ++i) {
        const auto& c = listed[i];
        text += (i == 0 ? "" : ", ") + c.name + " (" + c.kind + ", serial " + c.serial + ", valid until " +
                util::format_rfc3339(c.not_after) + ")";
    }
    const std::int64_t rest = total - static_cast<std::int64_t>(listed.size());
    if (rest > 0) {
        text += " and " + std::to_string(rest) + " more";
    }
    text +=
        "; wait for them to renew, renew them now with `agentlbctl ca rotate --reissue-all`, or revoke them "
        "with `agentlbctl cert revoke SERIAL`";
    return fail(std::move(text));
}

Failure no_rotation_to_reissue() {
    return fail("no CA rotation in progress: every certificate is already from the active CA");
}

Failure bad_reissue_rate(std::int64_t rate) {
    return fail("the reissue rate must be at least 1 agent a second, not " + std::to_string(rate));
}

}  // namespace agentlb::store
