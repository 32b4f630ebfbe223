// Integration tests of a TlsStream's lifetime: deadlines, a close by the
// peer, close() during a read, and resuming a closed session from its ticket.
// Real sockets on 127.0.0.1, certificates made at test time with certs/.

#include "certs/revocation.hpp"
#include "common/tls/context.hpp"
#include "common/tls/deadline.hpp"
#include "common/tls/stream.hpp"
#include "stream_test_helpers.hpp"
#include "tls_test_support.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

using namespace agentlb;
using namespace agentlb::tls;
using namespace agentlb::tls::test;
using namespace std::chrono_literals;
using tcp = asio::ip::tcp;

TEST_CASE_METHOD(PkiFixture, "a deadline closes a peer that sends nothing") {
    error_code server_ec;
    bool expired = false;
    std::chrono::milliseconds waited{};
    error_code client_ec;

    const auto took = run_connection(
        [&](tcp::socket socket) -> awaitable<void> {
            TlsStream stream(std::move(socket), server_ctx.get(), Role::server);
            Deadline deadline(stream);
            const auto start = std::chrono::steady_clock::now();
            deadline.expires_after(150ms);
            server_ec = co_await stream.handshake();
            waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                           start);
            expired = deadline.expired();
        },
        [&](tcp::socket socket, std::uint16_t) -> awaitable<void> {
            char byte = 0;
            auto token = asio::redirect_error(use_awaitable, client_ec);
            co_await socket.async_read_some(asio::buffer(&byte, 1), token);
        });
    CHECK(server_ec == asio::error::operation_aborted);
    CHECK(expired);
    CHECK(waited >= 150ms);
    CHECK(took < 1000ms);
    CHECK(client_ec == asio::error::eof);
}

TEST_CASE_METHOD(PkiFixture, "a deadline cancelled after success does not close the stream") {
    bool still_open = false;
    bool expired = true;
    std::string got;

    run_connection(
        [&](tcp::socket socket) -> awaitable<void> {
            TlsStream stream(std::move(socket), server_ctx.get(), Role::server);
            Deadline deadline(stream);
            deadline.expires_after(100ms);
            REQUIRE_FALSE(co_await stream.handshake());
            deadline.cancel();
            // Longer than the first expiry: a cancelled deadline stays quiet.
            asio::steady_timer pause(co_await asio::this_coro::executor, 250ms);
            co_await pause.async_wait(use_awaitable);
            still_open = stream.is_open();
            expired = deadline.expired();
            REQUIRE_FALSE(co_await stream.write_all("late", 4));
            co_await stream.shutdown();
        },
        [&](tcp::socket socket, std::uint16_t port) -> awaitable<void> {
            auto stream =
                std::make_shared<TlsStream>(std::move(socket), client_ctx.get(), Role::client, dialled(port));
            REQUIRE_FALSE(co_await stream->handshake());
            error_code ec;
            got = co_await read_bytes(stream, 4, ec);
            REQUIRE_FALSE(ec);
        });
    CHECK(still_open);
    CHECK_FALSE(expired);
    CHECK(got == "late");
}

TEST_CASE_METHOD(PkiFixture, "a close by the peer reads as eof, with or without close_notify") {
    const bool polite = GENERATE(true, false);
    error_code server_ec;
    std::string server_detail;

    run_connection(
        [&](tcp::socket socket) -> awaitable<void> {
            TlsStream stream(std::move(socket), server_ctx.get(), Role::server);
            REQUIRE_FALSE(co_await stream.handshake());
            char buffer[100];
            co_await stream.read_some(buffer, sizeof buffer, server_ec);
            server_detail = stream.last_error_detail();
        },
        [&](tcp::socket socket, std::uint16_t port) -> awaitable<void> {
            TlsStream stream(std::move(socket), client_ctx.get(), Role::client, dialled(port));
            REQUIRE_FALSE(co_await stream.handshake());
            if (polite) {
                co_await stream.shutdown();
            }
            stream.close();
            stream.close();  // idempotent
        });
    CHECK(server_ec == asio::error::eof);
    CHECK(server_detail == (polite ? "peer closed the TLS session (close_notify)"
                                   : "peer closed the connection without close_notify"));
}

TEST_CASE_METHOD(PkiFixture, "close() ends a pending read with operation_aborted") {
    error_code read_ec;
    error_code write_after_close;

    asio::io_context ioc;
    std::unique_ptr<Task> closer;
    run_connection(
        ioc,
        [&](tcp::socket socket) -> awaitable<void> {
            auto stream = std::make_shared<TlsStream>(std::move(socket), server_ctx.get(), Role::server);
            REQUIRE_FALSE(co_await stream->handshake());
            closer = std::make_unique<Task>(ioc, [&, stream]() -> awaitable<void> {
                asio::steady_timer pause(co_await asio::this_coro::executor, 50ms);
                co_await pause.async_wait(use_awaitable);
                stream->close();
            });
            char buffer[100];
            co_await stream->read_some(buffer, sizeof buffer, read_ec);
            write_after_close = co_await stream->write_all("x", 1);
        },
        [&](tcp::socket socket, std::uint16_t port) -> awaitable<void> {
            TlsStream stream(std::move(socket), client_ctx.get(), Role::client, dialled(port));
            REQUIRE_FALSE(co_await stream.handshake());
            char buffer[100];
            error_code ec;
            co_await stream.read_some(buffer, sizeof buffer, ec);  // ends when the server closes
        });
    REQUIRE(closer);
    REQUIRE(closer->done());
    CHECK(read_ec == asio::error::operation_aborted);
    CHECK(write_after_close == asio::error::operation_aborted);
}

TEST_CASE("a session resumes from its ticket, but not once the client certificate is revoked") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    auto revoked = std::make_shared<certs::RevocationList>();
    auto server_ctx = server_context(pki, pki.server(), revoked, 1);
    const KeyPair agent = pki.agent("agent7");
    auto client_ctx = client_context(pki, agent);
    using SessionPtr = std::unique_ptr<SSL_SESSION, decltype(&SSL_SESSION_free)>;
    SessionPtr session(nullptr, SSL_SESSION_free);

    struct Round {
        error_code server_ec;
        std::string server_detail;
        bool server_resumed = false;
        bool client_resumed = false;
        std::string server_peer_cn;
        error_code client_read_ec;
    };
    auto run_round = [&]() {
        Round round;
        run_connection(
            [&](tcp::socket socket) -> awaitable<void> {
                TlsStream stream(std::move(socket), server_ctx.get(), Role::server);
                round.server_ec = co_await stream.handshake();
                round.server_detail = stream.last_error_detail();
                if (round.server_ec) {
                    co_return;
                }
                round.server_resumed = stream.resumed();
                // Resumed sessions skip the verify callback; the certificate is still there.
                round.server_peer_cn = peer_common_name(stream.native_handle());
                REQUIRE_FALSE(round.server_peer_cn.empty());
                REQUIRE_FALSE(co_await stream.write_all("!", 1));
                co_await stream.shutdown();
            },
            [&](tcp::socket socket, std::uint16_t port) -> awaitable<void> {
                TlsStream stream(std::move(socket), client_ctx.get(), Role::client, dialled(port));
                if (session) {
                    REQUIRE(SSL_set_session(stream.native_handle(), session.get()) == 1);
                }
                REQUIRE_FALSE(co_await stream.handshake());
                round.client_resumed = stream.resumed();
                char byte = 0;
                // The ticket arrives after the handshake: reading processes it.
                co_await stream.read_some(&byte, 1, round.client_read_ec);
                if (!round.client_read_ec) {
                    session.reset(SSL_get1_session(stream.native_handle()));
                    // OpenSSL marks the session of an SSL freed without
                    // close_notify as not resumable.
                    co_await stream.shutdown();
                }
            });
        return round;
    };

    const Round first = run_round();
    REQUIRE_FALSE(first.server_ec);
    CHECK_FALSE(first.server_resumed);
    REQUIRE(session);
    REQUIRE(SSL_SESSION_is_resumable(session.get()) == 1);

    const Round second = run_round();
    REQUIRE_FALSE(second.server_ec);
    CHECK(second.server_resumed);
    CHECK(second.client_resumed);
    CHECK(second.server_peer_cn == "agent7");

    revoked->add(agent.serial);
    const Round third = run_round();
    CHECK_FALSE(third.server_resumed);
    CHECK(ssl_reason(third.server_ec) == SSL_R_CERTIFICATE_VERIFY_FAILED);
    CHECK_THAT(third.server_detail, Catch::Contains("revoked"));
    CHECK(third.client_read_ec);
}
