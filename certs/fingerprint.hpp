#pragma once

// Certificate fingerprints as shown to operators and pinned by agents:
// "sha256:" followed by 64 lowercase hex digits of SHA-256 over the DER
// certificate.

#include "certs/handles.hpp"
#include "common/util/result.hpp"

#include <string>
#include <string_view>

namespace agentlb::certs {

std::string fingerprint_of(X509* certificate);
Result<std::string> fingerprint_of_pem(std::string_view certificate_pem);

// Canonical form of what an operator typed: accepts upper or lower case, with
// or without the "sha256:" prefix, with or without ':' between bytes
// (as `openssl x509 -fingerprint -sha256` prints it).
Result<std::string> normalize_fingerprint(std::string_view text);

// Same fingerprint, in any form normalize_fingerprint accepts; the digits are
// compared in constant time. False when either side is malformed.
bool fingerprint_equal(std::string_view a, std::string_view b);

}  // namespace agentlb::certs
