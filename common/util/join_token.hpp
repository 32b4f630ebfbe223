#pragma once

// The shape of a join token (certs/token.hpp makes them): checked by the
// enrollment port before the store is asked, and by agentlbctl, with no
// cryptography needed to tell a mistyped token.

#include <cstddef>
#include <string_view>

namespace agentlb::util {

// Characters in a token: 32 random bytes as base64url without padding.
inline constexpr std::size_t kJoinTokenLength = 43;

inline constexpr std::string_view kJoinTokenAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Length and alphabet of a generated token: lets a client refuse a mistyped
// token before it connects, and the server before it asks its store.
inline bool is_well_formed_join_token(std::string_view token) {
    return token.size() == kJoinTokenLength &&
           token.find_first_not_of(kJoinTokenAlphabet) == std::string_view::npos;
}

}  // namespace agentlb::util
