#pragma once

// How a ticket key is kept in the store: its material (AES and HMAC keys)
// encrypted with AES-256-GCM under a key every server derives from the CA's
// private key (certs::CertificateAuthority::derive_secret with
// kTicketKeyWrapInfo), its name bound as associated data. A reader of the
// database alone learns no key that would let it pass as a server to an
// agent that resumes.
//
// Wrapped form: version (1 byte, 1) | nonce (12) | ciphertext (64) | tag (16).

#include "common/tls/ticket_keys.hpp"
#include "common/util/result.hpp"

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace agentlb::tls {

inline constexpr std::string_view kTicketKeyWrapInfo = "agentlb ticket keys";

class TicketKeyWrapper {
public:
    explicit TicketKeyWrapper(const std::array<unsigned char, 32>& wrapping_key);
    ~TicketKeyWrapper();
    TicketKeyWrapper(const TicketKeyWrapper&) = delete;
    TicketKeyWrapper& operator=(const TicketKeyWrapper&) = delete;

    // Fails only when OpenSSL does.
    Result<std::string> wrap(const TicketKey& key) const;
    // Nothing when `wrapped` was not made by wrap() under this wrapping key
    // for this name (another CA's key, a damaged or altered row).
    std::optional<TicketKey> unwrap(std::string_view name, std::string_view wrapped) const;

private:
    std::array<unsigned char, 32> key_;
};

}  // namespace agentlb::tls
