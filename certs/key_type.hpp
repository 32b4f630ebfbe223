#pragma once

#include <optional>
#include <string_view>

namespace agentlb::certs {

// The key types agentlb generates for new keys (agentlb.ca.key.type). P-256
// is the default: the cheapest handshake; P-384 and RSA-3072 are for
// policies that require them.
enum class KeyType { p256, p384, rsa3072 };

constexpr std::string_view to_string(KeyType type) {
    switch (type) {
        case KeyType::p384:
            return "p384";
        case KeyType::rsa3072:
            return "rsa3072";
        case KeyType::p256:
            break;
    }
    return "p256";
}

// "p256", "p384", "rsa3072" exactly; nothing for anything else.
constexpr std::optional<KeyType> key_type_from_string(std::string_view text) {
    for (KeyType type : {KeyType::p256, KeyType::p384, KeyType::rsa3072}) {
        if (to_string(type) == text) {
            return type;
        }
    }
    return std::nullopt;
}

}  // namespace agentlb::certs
