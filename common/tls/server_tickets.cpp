#include "common/tls/server_tickets.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>

namespace agentlb::tls {

std::chrono::seconds ticket_lifetime(std::chrono::seconds configured,
                                     std::int64_t certificate_not_after,
                                     std::int64_t now) {
    const std::chrono::seconds left{std::max<std::int64_t>(0, certificate_not_after - now)};
    return std::max(std::chrono::seconds(0), std::min(configured, left));
}

bool ticket_due(SSL* ssl, std::int64_t now) {
    if (SSL_session_reused(ssl) != 1) {
        return true;
    }
    const SSL_SESSION* session = SSL_get_session(ssl);
    if (session == nullptr) {
        return true;
    }
    return ticket_due(SSL_SESSION_get_time(session), SSL_SESSION_get_timeout(session), now);
}

bool ticket_due(std::int64_t issued, std::int64_t lifetime, std::int64_t now) {
    return 2 * (now - issued) > lifetime;
}

bool request_session_ticket(SSL* ssl, std::chrono::seconds lifetime) {
    SSL_SESSION* session = SSL_get_session(ssl);
    if (session == nullptr || lifetime.count() <= 0) {
        return false;
    }
    // The ticket carries the session's timeout: OpenSSL sends it as the
    // lifetime hint and refuses the ticket once it has passed (tested in
    // stream_ticket_test.cpp).
    SSL_SESSION_set_timeout(session, static_cast<long>(lifetime.count()));
    ERR_clear_error();
    const bool queued = SSL_new_session_ticket(ssl) == 1;
    ERR_clear_error();
    return queued;
}

}  // namespace agentlb::tls
