#pragma once

// Deciding what a `trust` message changes in the agent's CA file (a PEM
// bundle of the CAs it trusts). The agent's trust stays rooted in what it
// already holds: a server can add a CA only when a CA the agent trusts
// vouches for it (certs::check_vouched_ca: a rotation's cross certificate),
// or when it is the self-signed twin (same name and key) of such a vouched
// certificate sent in the same message; never because a server merely sent
// it. CAs not listed are dropped, but only when at least one listed CA was
// accepted, so a message of strangers changes nothing. CPU only, no I/O.

#include "common/util/result.hpp"
#include "common/wire/messages.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace agentlb::agent {

struct TrustUpdate {
    std::string bundle_pem;            // what the CA file holds afterwards
    bool changed = false;              // differs from the current set (order aside)
    std::vector<std::string> added;    // "NAME (sha256:...)", for the log
    std::vector<std::string> dropped;  // likewise
    std::vector<std::string> refused;  // "NAME (sha256:...): why", peer text escaped
    // Not adopted and not refused: the CA our root replaced, or a cross
    // certificate of our own root (an agent enrolled during a rotation holds
    // only the new CA and needs neither).
    std::vector<std::string> skipped;
    std::vector<std::string> trusts;  // fingerprints of the result, for hello
};

// `current_bundle_pem`: the CA file's text; `now`: Unix seconds. Fails only
// when the current bundle does not parse (then nothing changes).
Result<TrustUpdate> apply_trust(const std::string& current_bundle_pem,
                                const wire::Trust& message,
                                std::int64_t now);

// Fingerprints of every certificate in the bundle, in order; empty when it
// does not parse.
std::vector<std::string> bundle_fingerprints(const std::string& bundle_pem);

}  // namespace agentlb::agent
