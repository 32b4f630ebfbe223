#include "common/tls/client_tickets.hpp"

#include "certs/verify.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <ctime>
#include <mutex>
#include <stdexcept>

namespace agentlb::tls {

namespace {

struct KeptTicket {
    std::mutex mutex;
    SSL_SESSION* newest = nullptr;  // owned
};

void free_kept_ticket(
    void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/, void* /*argp*/) {
    auto* kept = static_cast<KeptTicket*>(ptr);
    if (kept != nullptr) {
        SSL_SESSION_free(kept->newest);
        delete kept;
    }
}

int kept_ticket_index() {
    static const int index = [] {
        const int i = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_kept_ticket);
        if (i < 0) {
            throw std::runtime_error("OpenSSL: cannot register SSL_CTX ex_data index");
        }
        return i;
    }();
    return index;
}

KeptTicket* kept_ticket(const SSL_CTX* ctx) {
    return static_cast<KeptTicket*>(SSL_CTX_get_ex_data(ctx, kept_ticket_index()));
}

// A ticket that cannot be used any more is not worth offering: the server
// would answer with a full handshake anyway.
bool usable(SSL_SESSION* session) {
    if (session == nullptr || SSL_SESSION_is_resumable(session) != 1) {
        return false;
    }
    const auto issued = static_cast<std::time_t>(SSL_SESSION_get_time(session));
    const auto lifetime = static_cast<std::time_t>(SSL_SESSION_get_ticket_lifetime_hint(session));
    return std::time(nullptr) - issued < lifetime;
}

// OpenSSL calls this for every NewSessionTicket. A copy is kept: OpenSSL
// marks the connection's own session not resumable when the connection ends
// without close_notify, and a server that dies (the failover this ticket is
// for) never sends one. TLS 1.3 does not ask for that rule (RFC 8446
// dropped TLS 1.2's "forget the session after a fatal alert").
int on_new_session(SSL* ssl, SSL_SESSION* session) {
    KeptTicket* kept = kept_ticket(SSL_get_SSL_CTX(ssl));
    if (kept == nullptr) {
        return 0;
    }
    SSL_SESSION* copy = SSL_SESSION_dup(session);
    if (copy == nullptr) {
        ERR_clear_error();
        return 0;
    }
    std::lock_guard lock(kept->mutex);
    SSL_SESSION_free(kept->newest);
    kept->newest = copy;
    return 0;  // OpenSSL keeps (and frees) its own reference
}

}  // namespace

Status keep_client_tickets(SSL_CTX* ctx) {
    auto* kept = new KeptTicket;
    if (SSL_CTX_set_ex_data(ctx, kept_ticket_index(), kept) != 1) {
        delete kept;
        return fail(certs::openssl_failure("cannot attach the ticket holder to the TLS context"));
    }
    // The internal cache would also keep every session: only the newest matters.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
    return success();
}

bool offer_client_ticket(SSL* ssl) {
    KeptTicket* kept = kept_ticket(SSL_get_SSL_CTX(ssl));
    if (kept == nullptr) {
        return false;
    }
    std::lock_guard lock(kept->mutex);
    if (!usable(kept->newest)) {
        SSL_SESSION_free(kept->newest);
        kept->newest = nullptr;
        return false;
    }
    // A copy again: this connection failing must not spoil the kept one.
    ERR_clear_error();
    SSL_SESSION* copy = SSL_SESSION_dup(kept->newest);
    const bool set = copy != nullptr && SSL_set_session(ssl, copy) == 1;
    SSL_SESSION_free(copy);
    ERR_clear_error();
    return set;
}

bool has_client_ticket(const SSL_CTX* ctx) {
    KeptTicket* kept = kept_ticket(ctx);
    if (kept == nullptr) {
        return false;
    }
    std::lock_guard lock(kept->mutex);
    return kept->newest != nullptr;
}

}  // namespace agentlb::tls
