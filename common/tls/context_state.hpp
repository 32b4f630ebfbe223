#pragma once

// Private to agentlb_tls: what our verify and ticket callbacks need from a
// context, hung on the SSL_CTX (ex_data) and freed with it.

#include "common/util/result.hpp"

#include <openssl/types.h>

#include <memory>
#include <string>

namespace agentlb::certs {
class RevocationList;
}

namespace agentlb::tls {
class TicketKeyRing;
}

namespace agentlb::tls::detail {

// Owned by the SSL_CTX (freed with it, which is after the last session using
// it).
struct ContextState {
    std::shared_ptr<const certs::RevocationList> revoked;
    std::string pinned_fingerprint;  // enrollment client only, normalized
    // Agent port: the shared ticket keys; null: OpenSSL's own keys of this context.
    std::shared_ptr<TicketKeyRing> ticket_keys{};
};

// Registers the ex_data index on first use; throws std::runtime_error when
// OpenSSL cannot, so call it once at context creation, not in a callback.
int context_state_index();

// The state attached to `ctx`; null when none.
const ContextState* context_state(const SSL_CTX* ctx);

Status attach_state(SSL_CTX* ctx, ContextState state);

}  // namespace agentlb::tls::detail
