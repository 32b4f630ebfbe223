#pragma once

// Deciding whether a `certificate` answer to our `renew` can be stored.
//
// The agent's trust is rooted in the CA file it already holds (the pinned
// CA): a server can never replace it. The CA in the answer is taken only when
// it is the pinned one (same DER) or when the pinned CA vouches for it
// (certs::check_vouched_ca: signed with the pinned CA's key, a CA, valid
// now); the new certificate must verify against the CA that will be stored,
// so it always chains to the pinned CA. Anything else is refused and the
// current key, certificate and CA stay as they are. CPU only, no I/O.

#include "agent/credentials.hpp"
#include "certs/key_type.hpp"
#include "common/util/result.hpp"
#include "common/wire/messages.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace agentlb::agent {

struct RenewalCheck {
    Credentials renewed;  // what store_renewed() writes
    bool new_ca = false;  // renewed.ca_pem is a vouched CA other than the pinned one
};

// `pinned_ca_pem`: the CA file's text; `pending_key_pem`: the key our CSR was
// made from; `name`: our identity (the certificate's CN); `now`: Unix seconds.
// The reason reads as the end of "refused the renewed certificate: ...".
Result<RenewalCheck> check_renewed_certificate(const std::string& pinned_ca_pem,
                                               const std::string& pending_key_pem,
                                               const std::string& name,
                                               const wire::Certificate& message,
                                               std::int64_t now);

// Whether to renew now, and with which key type, under the `renewal` policy
// the servers sent in welcome or ms_list (nothing: what agents did before
// the policy existed: P-256 keys, at two thirds of the validity, on their own).
struct RenewalDecision {
    bool due = false;
    bool automatic = true;  // false: the cluster turned automatic renewal off
    certs::KeyType key_type = certs::KeyType::p256;
    std::string note;  // an unknown key type or fraction sent (fell back): for the log
};
RenewalDecision decide_renewal(X509* certificate,
                               const std::optional<wire::Renewal>& policy,
                               std::int64_t now);

}  // namespace agentlb::agent
