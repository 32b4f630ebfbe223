#pragma once

// The rules of a CA rotation, the same for every backend: each backend reads
// the trusted CAs (and the certificates that block a finish) inside its
// write transaction and asks these rules before it writes.

#include "common/store/store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::store {

// A live certificate of the previous CA, for finish_ca_rotation's refusal.
struct BlockingCertificate {
    std::string name;  // host or server name
    std::string kind;
    std::string serial;
    std::int64_t not_after = 0;
};

// Nothing when `rotation` may begin over `trusted` (every row, active first).
std::optional<Failure> refuse_rotation(const std::vector<TrustedCa>& trusted, const CaRotation& rotation);

// The previous CA, or the refusal when there is none.
Result<TrustedCa> previous_ca(const std::vector<TrustedCa>& trusted);

// The refusal naming up to kFinishListLimit of `listed` and counting the
// rest of `total`.
Failure refuse_finish(const TrustedCa& previous,
                      const std::vector<BlockingCertificate>& listed,
                      std::int64_t total);

Failure no_rotation_to_reissue();
Failure bad_reissue_rate(std::int64_t rate);

}  // namespace agentlb::store
