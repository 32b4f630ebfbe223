// Unit tests of the shared session ticket keys: tickets made and used through
// real TLS 1.3 handshakes over a BIO pair (no sockets) by contexts that share
// one TicketKeyRing, as the servers of a cluster do through the store.

#include "common/tls/ticket_keys.hpp"

#include "common/tls/context.hpp"
#include "common/tls/stream.hpp"
#include "tls_test_support.hpp"

#include <catch2/catch.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

using namespace agentlb;
using namespace agentlb::tls;
using namespace agentlb::tls::test;

namespace {

struct SessionDeleter {
    void operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }
};
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionDeleter>;

struct Outcome {
    bool ok = false;       // both ends finished the handshake
    bool resumed = false;  // the server resumed the offered session
    SessionPtr ticket;     // what the client kept (null: no ticket arrived)
};

// One handshake through a BIO pair, offering `offer` when set, then the
// client reads what the server sent after it (TLS 1.3 tickets come then).
Outcome connect(SSL_CTX* server_ctx, SSL_CTX* client_ctx, SSL_SESSION* offer = nullptr) {
    SslPtr client(SSL_new(client_ctx));
    SslPtr server(SSL_new(server_ctx));
    BIO* client_bio = nullptr;
    BIO* server_bio = nullptr;
    REQUIRE(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) == 1);
    SSL_set_bio(client.get(), client_bio, client_bio);
    SSL_set_bio(server.get(), server_bio, server_bio);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
    REQUIRE(set_expected_server(client.get(), "127.0.0.1").ok());
    if (offer != nullptr) {
        REQUIRE(SSL_set_session(client.get(), offer) == 1);
    }
    bool client_ok = false;
    bool server_ok = false;
    bool failed = false;
    for (int round = 0; round < 20 && !failed && !(client_ok && server_ok); ++round) {
        if (!client_ok) {
            const int r = SSL_do_handshake(client.get());
            client_ok = r == 1;
            failed = r <= 0 && SSL_get_error(client.get(), r) != SSL_ERROR_WANT_READ;
        }
        if (!server_ok && !failed) {
            const int r = SSL_do_handshake(server.get());
            server_ok = r == 1;
            failed = r <= 0 && SSL_get_error(server.get(), r) != SSL_ERROR_WANT_READ;
        }
    }
    Outcome outcome;
    outcome.ok = client_ok && server_ok;
    outcome.resumed = outcome.ok && SSL_session_reused(server.get()) == 1;
    if (outcome.ok) {
        unsigned char byte = 0;
        const int r = SSL_read(client.get(), &byte, 1);  // processes the tickets, then wants more
        CHECK(SSL_get_error(client.get(), r) == SSL_ERROR_WANT_READ);
        SessionPtr session(SSL_get1_session(client.get()));
        if (session && SSL_SESSION_is_resumable(session.get()) == 1) {
            outcome.ticket = std::move(session);
        }
        // Freeing a session's SSL without close_notify marks the session not
        // resumable (OpenSSL treats it as a session that failed).
        SSL_shutdown(client.get());
    }
    ERR_clear_error();
    return outcome;
}

std::shared_ptr<TicketKeyRing> make_ring() {
    auto ring = TicketKeyRing::create();
    REQUIRE(ring.ok());
    return std::move(ring).value();
}

TicketKey make_key() {
    auto key = random_ticket_key();
    REQUIRE(key.ok());
    return key.value();
}

SslCtxPtr ring_server(const TestPki& pki, const KeyPair& server, std::shared_ptr<TicketKeyRing> ring) {
    AgentPortServerConfig config{pki.ca_pem(), server.cert_pem, server.key_pem, nullptr, 1};
    config.ticket_keys = std::move(ring);
    auto ctx = make_agent_port_server_context(config);
    REQUIRE(ctx.ok());
    return std::move(ctx).value();
}

}  // namespace

TEST_CASE("a ticket made with one context of a ring resumes on another context sharing it") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    const KeyPair server = pki.server();
    auto client_ctx = client_context(pki, pki.agent());
    auto ring = make_ring();
    ring->install({make_key()});
    // Two servers of one cluster (or one server's context before and after a renewal).
    auto first_ctx = ring_server(pki, server, ring);
    auto second_ctx = ring_server(pki, server, ring);

    Outcome first = connect(first_ctx.get(), client_ctx.get());
    REQUIRE(first.ok);
    CHECK_FALSE(first.resumed);
    REQUIRE(first.ticket);

    Outcome second = connect(second_ctx.get(), client_ctx.get(), first.ticket.get());
    REQUIRE(second.ok);
    CHECK(second.resumed);

    // A context with OpenSSL's own keys cannot read it: a full handshake.
    auto own_keys = server_context(pki, server, nullptr, 1);
    Outcome elsewhere = connect(own_keys.get(), client_ctx.get(), first.ticket.get());
    REQUIRE(elsewhere.ok);
    CHECK_FALSE(elsewhere.resumed);
}

TEST_CASE("a ticket resumes after its key becomes the previous one, and not after two rotations") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    auto client_ctx = client_context(pki, pki.agent());
    auto ring = make_ring();
    const TicketKey k1 = make_key();
    const TicketKey k2 = make_key();
    const TicketKey k3 = make_key();
    ring->install({k1});
    auto server_ctx = ring_server(pki, pki.server(), ring);

    // Two tickets of k1: a client replaces a ticket it resumed with (OpenSSL
    // marks the used one not resumable), so each attempt below needs its own.
    Outcome made = connect(server_ctx.get(), client_ctx.get());
    Outcome made_too = connect(server_ctx.get(), client_ctx.get());
    REQUIRE(made.ticket);
    REQUIRE(made_too.ticket);

    ring->install({k2, k1});  // one rotation: k1 is the previous key
    Outcome after_one = connect(server_ctx.get(), client_ctx.get(), made.ticket.get());
    REQUIRE(after_one.ok);
    CHECK(after_one.resumed);

    ring->install({k3, k2});  // two rotations: k1 is gone
    REQUIRE(SSL_SESSION_is_resumable(made_too.ticket.get()) == 1);
    Outcome after_two = connect(server_ctx.get(), client_ctx.get(), made_too.ticket.get());
    REQUIRE(after_two.ok);  // a full handshake instead
    CHECK_FALSE(after_two.resumed);
    // The new ticket is made with the current key and resumes.
    REQUIRE(after_two.ticket);
    Outcome fresh = connect(server_ctx.get(), client_ctx.get(), after_two.ticket.get());
    CHECK(fresh.resumed);
}

TEST_CASE("a ring without keys sends no usable ticket and resumes nothing") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    auto client_ctx = client_context(pki, pki.agent());
    auto ring = make_ring();
    CHECK(ring->empty());
    auto server_ctx = ring_server(pki, pki.server(), ring);

    Outcome outcome = connect(server_ctx.get(), client_ctx.get());
    REQUIRE(outcome.ok);
    CHECK_FALSE(outcome.ticket);
}

TEST_CASE("random ticket keys differ in every part") {
    const TicketKey a = make_key();
    const TicketKey b = make_key();
    CHECK(a.name != b.name);
    CHECK(a.aes_key != b.aes_key);
    CHECK(a.hmac_key != b.hmac_key);
}
