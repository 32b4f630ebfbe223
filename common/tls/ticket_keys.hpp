#pragma once

// The keys of TLS 1.3 session tickets, shared by every agent-port context of
// a server (and, through the store, by every server: mgmt/ticket_key_refresh),
// so that an agent resumes on whichever server it reaches next.
//
// The newest key encrypts new tickets; every key held decrypts (the older
// ones ask OpenSSL to renew the ticket). Whoever installs decides how many
// are held: the refresh installs the current and the previous key, never an
// older one, so a ticket two rotations old is refused (a full handshake).
//
// Read on every handshake from any I/O thread, installed from the store
// thread. Key material is never logged, not even its name.

#include "common/util/result.hpp"

#include <openssl/types.h>

#include <array>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace agentlb::tls {

struct TicketKey {
    std::array<unsigned char, 16> name{};      // sent in the clear in each ticket
    std::array<unsigned char, 32> aes_key{};   // AES-256-CBC, encrypts the ticket
    std::array<unsigned char, 32> hmac_key{};  // HMAC-SHA256, authenticates it
};

// A key from the system's random generator; fails only when OpenSSL's does.
Result<TicketKey> random_ticket_key();

class TicketKeyRing {
public:
    // Fetches AES-256-CBC and HMAC once: OpenSSL 3.0 would fetch them for
    // every ticket otherwise. Fails when the default provider lacks them.
    static Result<std::shared_ptr<TicketKeyRing>> create();

    ~TicketKeyRing();
    TicketKeyRing(const TicketKeyRing&) = delete;
    TicketKeyRing& operator=(const TicketKeyRing&) = delete;

    // Replaces every key held; newest first (it encrypts). An empty list:
    // no ticket can be made or used (servers then send none).
    void install(std::vector<TicketKey> keys);
    std::size_t size() const;
    bool empty() const { return size() == 0; }

    // The body of SSL_CTX_set_tlsext_ticket_key_evp_cb (see context.cpp):
    // encrypt: name, IV, cipher and MAC set from the newest key, 1; no key: 0.
    // decrypt: the key named `key_name`: 1 for the newest, 2 (renew) for an
    // older one; 0 (a full handshake) for a name not held. -1 on an error.
    int process(unsigned char* key_name,
                unsigned char* iv,
                EVP_CIPHER_CTX* cipher_ctx,
                EVP_MAC_CTX* mac_ctx,
                bool encrypt) const;

private:
    TicketKeyRing(EVP_CIPHER* cipher, EVP_MAC* mac);
    using Keys = std::vector<TicketKey>;
    std::shared_ptr<const Keys> keys() const;

    EVP_CIPHER* cipher_;
    EVP_MAC* mac_;
    mutable std::mutex mutex_;
    std::shared_ptr<const Keys> keys_;
};

}  // namespace agentlb::tls
