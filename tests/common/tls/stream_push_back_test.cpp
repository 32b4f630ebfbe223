// A client TlsStream keeps the server's first bytes, so that a handshake that
// failed on a push-back line (common/protocol/push_back.hpp) reports it.
// Real sockets on 127.0.0.1.

#include "common/protocol/push_back.hpp"
#include "common/tls/stream.hpp"
#include "stream_test_helpers.hpp"
#include "tls_test_support.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

using namespace agentlb;
using namespace agentlb::tls;
using namespace agentlb::tls::test;

using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

namespace {

struct ClientOutcome {
    error_code ec;
    std::optional<protocol::PushBack> push_back;
};

// The server writes `parts` in plain text, pausing between them, then shuts
// its side down and reads until the client closes (as mgmt/admission does).
ClientOutcome plaintext_server(SSL_CTX* client_ctx, std::vector<std::string> parts) {
    ClientOutcome outcome;
    run_connection(
        [&](tcp::socket socket) -> awaitable<void> {
            error_code ec;
            auto token = asio::redirect_error(use_awaitable, ec);
            for (const auto& part : parts) {
                co_await asio::async_write(socket, asio::buffer(part), token);
                asio::steady_timer pause(socket.get_executor(), milliseconds(50));
                co_await pause.async_wait(token);
            }
            socket.shutdown(tcp::socket::shutdown_send, ec);
            char buffer[512];
            ec = {};
            while (!ec) {
                co_await socket.async_read_some(asio::buffer(buffer), token);
            }
        },
        [&](tcp::socket socket, std::uint16_t port) -> awaitable<void> {
            TlsStream stream(std::move(socket), client_ctx, Role::client, dialled(port));
            outcome.ec = co_await stream.handshake();
            outcome.push_back = stream.push_back();
            stream.close();
        });
    return outcome;
}

}  // namespace

TEST_CASE_METHOD(PkiFixture, "a client's failed handshake reports the server's push-back line") {
    const auto outcome = plaintext_server(client_ctx.get(), {protocol::format_push_back(milliseconds(250))});
    CHECK(outcome.ec);
    REQUIRE(outcome.push_back.has_value());
    CHECK(outcome.push_back->retry_after == milliseconds(250));
}

TEST_CASE_METHOD(PkiFixture, "a push-back line that arrives in pieces is read whole") {
    // OpenSSL alone would stop at the first five bytes, which are no record header.
    const auto outcome =
        plaintext_server(client_ctx.get(), {"AGE", "NTLB-BUSY retry-after-ms=6", "0000\r", "\n"});
    CHECK(outcome.ec);
    REQUIRE(outcome.push_back.has_value());
    CHECK(outcome.push_back->retry_after == milliseconds(60000));
}

TEST_CASE_METHOD(PkiFixture, "other plaintext from a server is no push-back") {
    CHECK_FALSE(plaintext_server(client_ctx.get(), {"HTTP/1.1 400 Bad Request\r\n\r\n"}).push_back);
    CHECK_FALSE(plaintext_server(client_ctx.get(), {"AGENTLB-BUSY retry-after-ms=250"}).push_back);
    CHECK_FALSE(plaintext_server(client_ctx.get(), {std::string(200, 'A')}).push_back);
    const auto closed = plaintext_server(client_ctx.get(), {});
    CHECK(closed.ec);
    CHECK_FALSE(closed.push_back);
}

TEST_CASE_METHOD(PkiFixture, "a handshake and data pass through the client's capture untouched") {
    std::optional<protocol::PushBack> client_push_back{protocol::PushBack{}};
    std::optional<protocol::PushBack> server_push_back{protocol::PushBack{}};
    std::string received;
    run_connection(
        [&](tcp::socket socket) -> awaitable<void> {
            auto stream = std::make_shared<TlsStream>(std::move(socket), server_ctx.get(), Role::server);
            const error_code handshake_ec = co_await stream->handshake();
            REQUIRE_FALSE(handshake_ec);
            server_push_back = stream->push_back();
            const std::string text(5000, 'x');
            const error_code write_ec = co_await stream->write_all(text.data(), text.size());
            REQUIRE_FALSE(write_ec);
            co_await stream->shutdown();
            stream->close();
        },
        [&](tcp::socket socket, std::uint16_t port) -> awaitable<void> {
            auto stream =
                std::make_shared<TlsStream>(std::move(socket), client_ctx.get(), Role::client, dialled(port));
            const error_code handshake_ec = co_await stream->handshake();
            REQUIRE_FALSE(handshake_ec);
            client_push_back = stream->push_back();
            error_code ec;
            received = co_await read_bytes(stream, 5000, ec);
            CHECK_FALSE(ec);
            stream->close();
        });
    CHECK_FALSE(client_push_back);
    CHECK_FALSE(server_push_back);
    CHECK(received == std::string(5000, 'x'));
}
