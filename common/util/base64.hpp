#pragma once

// Standard base64 (RFC 4648, with padding) for the app messages' payloads in
// the agent port's JSON. Here rather than OpenSSL's EVP_EncodeBlock because
// the protocol core links no OpenSSL (tests/protocol checks it).

#include <optional>
#include <string>
#include <string_view>

namespace agentlb::util {

std::string base64_encode(std::string_view bytes);

// Nothing when `text` is not canonical base64: a length that is not a
// multiple of 4, a character outside the alphabet, padding anywhere but at
// the end, or pad bits that are not zero (so each byte string has exactly one
// encoding).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace agentlb::util
