// Integration tests of the agent port's tickets as agentlb sends and keeps
// them: none during the handshake, one asked for afterwards and flushed
// without suspending, kept by the client context and offered on the next
// connection, never past its lifetime. Real sockets on 127.0.0.1.

#include "common/tls/client_tickets.hpp"
#include "common/tls/context.hpp"
#include "common/tls/server_tickets.hpp"
#include "common/tls/stream.hpp"
#include "common/tls/ticket_keys.hpp"
#include "stream_test_helpers.hpp"
#include "tls_test_support.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>
#include <openssl/ssl.h>

#include <chrono>
#include <ctime>
#include <malloc.h>
#include <memory>
#include <string>
#include <thread>

using namespace agentlb;
using namespace agentlb::tls;
using namespace agentlb::tls::test;
using namespace std::chrono_literals;

namespace {

// glibc's bytes in use (zero under AddressSanitizer, whose allocator it is not).
long long heap_in_use() {
    const struct mallinfo2 info = ::mallinfo2();
    return static_cast<long long>(info.uordblks + info.hblkhd);
}

struct Round {
    bool offered = false;
    bool server_resumed = false;
    bool client_resumed = false;
    bool ticket_requested = false;
    bool ticket_due = false;
    long session_time = 0;  // the server's session after the handshake
    long session_timeout = 0;
    long long ticket_heap_growth = 0;  // heap in use after the ticket was written, less before
    std::string server_peer_cn;
};

// One connection: the server (no tickets during the handshake) writes one
// byte, then asks for a ticket valid `lifetime` and flushes it as an idle
// agent session does; the client reads the byte and waits for the peer's
// close, which processes the ticket on the way.
Round connect_once(SSL_CTX* server_ctx, SSL_CTX* client_ctx, std::chrono::seconds lifetime) {
    Round round;
    run_connection(
        [&](asio::ip::tcp::socket socket) -> awaitable<void> {
            TlsStream stream(std::move(socket), server_ctx, Role::server);
            const error_code handshake = co_await stream.handshake();
            REQUIRE_FALSE(handshake);
            round.server_resumed = stream.resumed();
            round.server_peer_cn = peer_common_name(stream.native_handle());
            round.session_time = SSL_SESSION_get_time(SSL_get_session(stream.native_handle()));
            round.session_timeout = SSL_SESSION_get_timeout(SSL_get_session(stream.native_handle()));
            round.ticket_due = ticket_due(stream.native_handle(), std::time(nullptr));
            // Awaited outside a macro: GCC 12 may run an awaited call inside one more than once.
            const error_code wrote = co_await stream.write_all("!", 1);
            REQUIRE_FALSE(wrote);
            // As agentlb-mgmt: a resumed agent keeps its ticket while it is young.
            if (lifetime.count() > 0 && round.ticket_due) {
                const long long heap_before = heap_in_use();
                round.ticket_requested = request_session_ticket(stream.native_handle(), lifetime);
                auto want = asio::ip::tcp::socket::wait_type::wait_write;
                error_code ec = stream.flush_now(want);
                while (ec == asio::error::would_block) {
                    co_await stream.socket().async_wait(want, use_awaitable);
                    ec = stream.flush_now(want);
                }
                round.ticket_heap_growth = heap_in_use() - heap_before;
                REQUIRE_FALSE(ec);
            }
            co_await stream.shutdown();
        },
        [&](asio::ip::tcp::socket socket, std::uint16_t port) -> awaitable<void> {
            TlsStream stream(std::move(socket), client_ctx, Role::client, dialled(port));
            round.offered = offer_client_ticket(stream.native_handle());
            const error_code handshake = co_await stream.handshake();
            REQUIRE_FALSE(handshake);
            round.client_resumed = stream.resumed();
            char byte = 0;
            error_code ec;
            std::string got;
            while (!ec) {
                const std::size_t n = co_await stream.read_some(&byte, 1, ec);
                got.append(&byte, n);
            }
            CHECK(ec == asio::error::eof);
            CHECK(got == "!");
            co_await stream.shutdown();
        });
    return round;
}

}  // namespace

TEST_CASE("a ticket sent after the handshake is kept by the client context and resumes the next session") {
    PkiFixture f;
    REQUIRE(keep_client_tickets(f.client_ctx.get()).ok());
    REQUIRE(SSL_CTX_get_num_tickets(f.server_ctx.get()) == 0);

    const Round first = connect_once(f.server_ctx.get(), f.client_ctx.get(), 600s);
    CHECK_FALSE(first.offered);
    CHECK_FALSE(first.server_resumed);
    CHECK(first.ticket_requested);
    // Writing the ticket sets up OpenSSL's record buffers again (the read
    // one is about 17 KiB); flush_now() releases them, so an idle session
    // holds no more than before its ticket.
    CHECK(first.ticket_heap_growth < 4096);
    REQUIRE(has_client_ticket(f.client_ctx.get()));

    const Round second = connect_once(f.server_ctx.get(), f.client_ctx.get(), 600s);
    CHECK(second.offered);
    CHECK(second.server_resumed);
    CHECK(second.client_resumed);
    CHECK(second.server_peer_cn == "agent1");

    // A context made for other credentials starts without one.
    auto rebuilt = client_context(f.pki, f.pki.agent());
    REQUIRE(keep_client_tickets(rebuilt.get()).ok());
    CHECK_FALSE(has_client_ticket(rebuilt.get()));
    const Round third = connect_once(f.server_ctx.get(), rebuilt.get(), 0s);
    CHECK_FALSE(third.offered);
    CHECK_FALSE(third.server_resumed);
}

TEST_CASE("no ticket is sent when none is asked for, so nothing resumes") {
    PkiFixture f;
    REQUIRE(keep_client_tickets(f.client_ctx.get()).ok());
    connect_once(f.server_ctx.get(), f.client_ctx.get(), 0s);
    CHECK_FALSE(has_client_ticket(f.client_ctx.get()));
    const Round second = connect_once(f.server_ctx.get(), f.client_ctx.get(), 0s);
    CHECK_FALSE(second.offered);
    CHECK_FALSE(second.server_resumed);
}

TEST_CASE("the server refuses a ticket past its lifetime even when a client offers it") {
    PkiFixture f;
    REQUIRE(keep_client_tickets(f.client_ctx.get()).ok());
    connect_once(f.server_ctx.get(), f.client_ctx.get(), 1s);
    REQUIRE(has_client_ticket(f.client_ctx.get()));
    // A copy of the kept ticket, for a client that lies about its age.
    using SessionPtr = std::unique_ptr<SSL_SESSION, decltype(&SSL_SESSION_free)>;
    SessionPtr copy(nullptr, SSL_SESSION_free);
    {
        SslPtr probe(SSL_new(f.client_ctx.get()));
        REQUIRE(offer_client_ticket(probe.get()));
        copy.reset(SSL_get1_session(probe.get()));
    }
    std::this_thread::sleep_for(2100ms);

    // agentlb's client no longer offers it...
    const Round honest = connect_once(f.server_ctx.get(), f.client_ctx.get(), 1s);
    CHECK_FALSE(honest.offered);
    CHECK_FALSE(honest.server_resumed);

    // ...and a client that says it was just received gets a full handshake.
    bool server_resumed = true;
    run_connection(
        [&](asio::ip::tcp::socket socket) -> awaitable<void> {
            TlsStream stream(std::move(socket), f.server_ctx.get(), Role::server);
            const error_code handshake = co_await stream.handshake();
            REQUIRE_FALSE(handshake);
            server_resumed = stream.resumed();
            co_await stream.shutdown();
        },
        [&](asio::ip::tcp::socket socket, std::uint16_t port) -> awaitable<void> {
            TlsStream stream(std::move(socket), f.client_ctx.get(), Role::client, dialled(port));
            SSL_SESSION_set_time(copy.get(), static_cast<long>(std::time(nullptr)));
            REQUIRE(SSL_set_session(stream.native_handle(), copy.get()) == 1);
            const error_code handshake = co_await stream.handshake();
            REQUIRE_FALSE(handshake);
            co_await stream.shutdown();
        });
    CHECK_FALSE(server_resumed);
}

TEST_CASE("with the shared key ring a kept ticket resumes after one rotation, not after two") {
    PkiFixture f;
    REQUIRE(keep_client_tickets(f.client_ctx.get()).ok());
    auto ring = TicketKeyRing::create();
    REQUIRE(ring.ok());
    auto k1 = random_ticket_key();
    auto k2 = random_ticket_key();
    auto k3 = random_ticket_key();
    REQUIRE((k1.ok() && k2.ok() && k3.ok()));
    (*ring)->install({*k1});
    AgentPortServerConfig config{f.pki.ca_pem(), {}, {}, nullptr};
    const KeyPair server = f.pki.server();
    config.cert_pem = server.cert_pem;
    config.key_pem = server.key_pem;
    config.ticket_keys = *ring;
    auto made = make_agent_port_server_context(config);
    REQUIRE(made.ok());
    // As agentlb-mgmt rebuilds its context when its certificate is renewed.
    auto rebuilt = make_agent_port_server_context(config);
    REQUIRE(rebuilt.ok());

    connect_once(made->get(), f.client_ctx.get(), 600s);
    REQUIRE(has_client_ticket(f.client_ctx.get()));

    (*ring)->install({*k2, *k1});  // one rotation: k1 is the previous key
    // No new ticket from these connections: the kept one stays k1's.
    const Round after_one = connect_once(rebuilt->get(), f.client_ctx.get(), 0s);
    CHECK(after_one.offered);
    CHECK(after_one.server_resumed);

    (*ring)->install({*k3, *k2});  // two rotations: k1 is gone
    const Round after_two = connect_once(rebuilt->get(), f.client_ctx.get(), 0s);
    CHECK(after_two.offered);
    CHECK_FALSE(after_two.server_resumed);
}

TEST_CASE(
    "a resumed session keeps its ticket's issue time and lifetime, and a young ticket is offered again") {
    PkiFixture f;
    REQUIRE(keep_client_tickets(f.client_ctx.get()).ok());
    const long before = static_cast<long>(std::time(nullptr));
    const Round first = connect_once(f.server_ctx.get(), f.client_ctx.get(), 600s);
    CHECK(first.ticket_due);  // a full handshake always gets one
    REQUIRE(first.ticket_requested);
    std::this_thread::sleep_for(2100ms);

    const long later = static_cast<long>(std::time(nullptr));
    const Round second = connect_once(f.server_ctx.get(), f.client_ctx.get(), 600s);
    REQUIRE(second.server_resumed);
    // OpenSSL 3.0 keeps what the ticket carried, not the time of this handshake.
    CHECK(second.session_timeout == 600);
    CHECK(second.session_time >= before);
    CHECK(second.session_time < later);
    CHECK_FALSE(second.ticket_due);
    CHECK_FALSE(second.ticket_requested);

    // The same ticket, offered a second and a third time, still resumes.
    const Round third = connect_once(f.server_ctx.get(), f.client_ctx.get(), 600s);
    CHECK(third.offered);
    CHECK(third.server_resumed);
    CHECK(third.session_time == second.session_time);
    const Round fourth = connect_once(f.server_ctx.get(), f.client_ctx.get(), 600s);
    CHECK(fourth.server_resumed);
    CHECK(fourth.client_resumed);
}

TEST_CASE("a new ticket is due on resumption only past half the presented ticket's lifetime") {
    CHECK_FALSE(ticket_due(1000, 3600, 1000));
    CHECK_FALSE(ticket_due(1000, 3600, 2800));
    CHECK(ticket_due(1000, 3600, 2801));
    CHECK(ticket_due(1000, 3600, 5000));
    CHECK_FALSE(ticket_due(1000, 0, 1000));
    CHECK(ticket_due(1000, 1, 1001));
}

TEST_CASE("a ticket's lifetime is the configured one, never beyond the certificate's end") {
    using std::chrono::seconds;
    CHECK(ticket_lifetime(seconds(3600), 1'000'000, 900'000) == seconds(3600));
    CHECK(ticket_lifetime(seconds(3600), 1'000'000, 999'000) == seconds(1000));
    CHECK(ticket_lifetime(seconds(0), 1'000'000, 900'000) == seconds(0));
    CHECK(ticket_lifetime(seconds(3600), 1'000'000, 1'000'001) == seconds(0));
}
