#pragma once

// Whether a `host` list fits the wire protocol's frames. The list travels in
// `welcome` (its correction), `ms_list` (with an avoid list that may hold
// every entry), `enrolled` (beside a certificate and the CA) and the agent's
// `hello` ("a,b,c@algorithm"); a list too large for any of them would cut
// agents off, so it is refused before it is stored.
//
// The sizes are measured, not estimated: each message is encoded with the
// real encoder, holding the list and, in every other field, the largest
// value it can carry (the allowances below for text the configuration does
// not control).

#include "common/util/result.hpp"
#include "common/util/zone_name.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::lb {

// Allowances for the fields beside the list. Names: the 64-byte limit of a
// certificate CN and of the server's --name. Zones: the limit every place
// that accepts one enforces (common/util/zone_name.hpp). The agent version
// has no enforced limit; 256 bytes is far above any real one. A PEM certificate:
// an agent certificate with an RSA-8192 key (the largest CSR key accepted)
// is 2,074 bytes as PEM (measured, 64-byte CN), the ECDSA P-256 CA 729.
inline constexpr std::size_t kNameAllowance = 64;
inline constexpr std::size_t kZoneAllowance = util::kMaxZoneLength;
inline constexpr std::size_t kVersionAllowance = 256;
inline constexpr std::size_t kPemAllowance = 4096;
// An imported CA's chain travels beside the certificate: the CA and at most
// two CAs above it (certs::kMaxCaChainLength less the root).
inline constexpr std::size_t kChainAllowance = 3 * kPemAllowance;

struct LargestMessage {
    std::string_view type;  // "welcome", "ms_list", "enrolled" or "hello"
    std::size_t bytes = 0;  // its payload, framing header not counted
};

// The largest payload an agent or a server can send because of `hosts`
// (entries as parse_host_list returns them).
LargestMessage largest_list_message(const std::vector<std::string>& hosts);

// Refused when largest_list_message() exceeds the frame limit (wire::kMaxPayload).
// `value` is the text as given (its size is reported). The message does not
// name the key: callers add it.
Status check_list_fits_frames(std::string_view value, const std::vector<std::string>& hosts);

}  // namespace agentlb::lb
