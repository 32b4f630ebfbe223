#pragma once

// The agent side of TLS 1.3 resumption: the newest session ticket the
// servers sent, kept in memory only and offered on the next dial, whichever
// server that is (every server of a cluster decrypts the others' tickets:
// they share the ticket keys through the store).
//
// The ticket hangs on the client context: a context rebuilt for a new
// certificate or CA bundle starts with none, so a ticket never outlives
// the credentials it was made for. Thread-safe (a mutex per context).

#include "common/util/result.hpp"

#include <openssl/types.h>

namespace agentlb::tls {

// From now on, keeps the newest ticket received on sessions made with
// `ctx` (a client context of make_agent_client_context). Call once, before
// the context is used.
Status keep_client_tickets(SSL_CTX* ctx);

// Offers the kept ticket on `ssl` (a client, before its handshake) when
// there is one and its lifetime has not passed; false otherwise.
bool offer_client_ticket(SSL* ssl);

// Whether `ctx` keeps a ticket now (for tests and log lines).
bool has_client_ticket(const SSL_CTX* ctx);

}  // namespace agentlb::tls
