#pragma once

// The agent port's TLS 1.3 session tickets, sent off the handshake's
// critical path: the contexts send none during the handshake (num_tickets
// 0); once a session is past its hello, the server asks for one here and
// flushes it with TlsStream::flush_now() when the session is idle.

#include <openssl/types.h>

#include <chrono>
#include <cstdint>

namespace agentlb::tls {

// How long a ticket for this session may be used: the configured lifetime,
// never beyond the client certificate's notAfter (Unix seconds). Zero: send
// none (lifetime 0, or a certificate at its end).
std::chrono::seconds ticket_lifetime(std::chrono::seconds configured,
                                     std::int64_t certificate_not_after,
                                     std::int64_t now);

// Whether a session should get a new ticket: always after a full handshake;
// after a resumption only once the presented ticket has used more than half
// its lifetime (the agent keeps its ticket and may offer it again, so a
// fresh one each time would only cost the server a ticket per resumption).
// On a resumed server session OpenSSL 3.0 keeps the ticket's issue time and
// timeout in the session it decrypted (tested in stream_ticket_test.cpp).
bool ticket_due(SSL* ssl, std::int64_t now);
bool ticket_due(std::int64_t issued, std::int64_t lifetime, std::int64_t now);

// Queues one ticket valid for `lifetime` (> 0) on a server session whose
// handshake is done; nothing is written until TlsStream::flush_now(). False
// when OpenSSL refuses (not TLS 1.3, a write or handshake in progress).
bool request_session_ticket(SSL* ssl, std::chrono::seconds lifetime);

}  // namespace agentlb::tls
