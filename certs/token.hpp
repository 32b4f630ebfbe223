#pragma once

// One-time join tokens. Only the hash is stored; the token itself is shown
// once to the operator and carried by the agent at enrollment.

#include "common/util/join_token.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace agentlb::certs {

// Characters in a token: 32 random bytes as base64url without padding.
using util::kJoinTokenLength;

// Throws std::runtime_error when the system has no randomness to give
// (a start-up failure, not something to recover from).
std::string generate_join_token();

// Lowercase hex SHA-256 of the token text (64 characters).
std::string hash_token(std::string_view token);

// Length and alphabet of generate_join_token's output (common/util/join_token.hpp).
using util::is_well_formed_join_token;

}  // namespace agentlb::certs
