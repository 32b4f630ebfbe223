// Integration tests of TlsStream carrying data: concurrent reader and writer
// coroutines, large messages. Real sockets on 127.0.0.1, certificates made at
// test time with certs/.

#include "common/tls/context.hpp"
#include "common/tls/stream.hpp"
#include "stream_test_helpers.hpp"
#include "tls_test_support.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace agentlb::tls;
using namespace agentlb::tls::test;
using tcp = asio::ip::tcp;

namespace {

std::string pattern(std::size_t size, unsigned seed) {
    std::mt19937 random(seed);
    std::string data(size, '\0');
    for (auto& c : data) {
        c = static_cast<char>(random() & 0xff);
    }
    return data;
}

awaitable<error_code> write_in_chunks(std::shared_ptr<TlsStream> stream,
                                      const std::string& data,
                                      std::size_t chunk) {
    for (std::size_t offset = 0; offset < data.size(); offset += chunk) {
        const std::size_t n = std::min(chunk, data.size() - offset);
        const error_code ec = co_await stream->write_all(data.data() + offset, n);
        if (ec) {
            co_return ec;
        }
    }
    co_return error_code{};
}

}  // namespace

TEST_CASE_METHOD(PkiFixture,
                 "mTLS handshake, then reader and writer coroutines run concurrently on both sides") {
    // Large enough to fill the socket buffers, so that writers wait for
    // writability while readers wait for readability on the same stream.
    const std::string to_client = pattern(1 << 20, 1);
    const std::string to_server = pattern(1 << 20, 2);
    std::string server_got;
    std::string client_got;
    error_code server_write_ec, client_write_ec, server_read_ec, client_read_ec;
    bool server_resumed = true;
    std::string server_peer_cn;

    asio::io_context ioc;
    std::vector<std::unique_ptr<Task>> tasks;
    run_connection(
        ioc,
        [&](tcp::socket socket) -> awaitable<void> {
            auto stream = std::make_shared<TlsStream>(std::move(socket), server_ctx.get(), Role::server);
            const error_code ec = co_await stream->handshake();
            REQUIRE_FALSE(ec);
            server_resumed = stream->resumed();
            server_peer_cn = peer_common_name(stream->native_handle());
            tasks.push_back(std::make_unique<Task>(ioc, [&, stream]() -> awaitable<void> {
                server_write_ec = co_await write_in_chunks(stream, to_client, 8192);
            }));
            server_got = co_await read_bytes(stream, to_server.size(), server_read_ec);
        },
        [&](tcp::socket socket, std::uint16_t port) -> awaitable<void> {
            auto stream =
                std::make_shared<TlsStream>(std::move(socket), client_ctx.get(), Role::client, dialled(port));
            const error_code ec = co_await stream->handshake();
            REQUIRE_FALSE(ec);
            tasks.push_back(std::make_unique<Task>(ioc, [&, stream]() -> awaitable<void> {
                client_write_ec = co_await write_in_chunks(stream, to_server, 5000);
            }));
            client_got = co_await read_bytes(stream, to_client.size(), client_read_ec);
        });
    REQUIRE(tasks.size() == 2);
    for (auto& task : tasks) {
        REQUIRE(task->done());
        task->check();
    }
    CHECK_FALSE(server_write_ec);
    CHECK_FALSE(client_write_ec);
    CHECK_FALSE(server_read_ec);
    CHECK_FALSE(client_read_ec);
    CHECK(server_got == to_server);
    CHECK(client_got == to_client);
    CHECK_FALSE(server_resumed);
    CHECK(server_peer_cn == "agent1");
}

TEST_CASE_METHOD(PkiFixture, "a 60 KiB message makes the round trip intact") {
    const std::string message = pattern(60 * 1024, 3);
    std::string echoed;

    run_connection(
        [&](tcp::socket socket) -> awaitable<void> {
            auto stream = std::make_shared<TlsStream>(std::move(socket), server_ctx.get(), Role::server);
            REQUIRE_FALSE(co_await stream->handshake());
            error_code ec;
            const std::string got = co_await read_bytes(stream, message.size(), ec);
            REQUIRE_FALSE(ec);
            REQUIRE_FALSE(co_await stream->write_all(got.data(), got.size()));
        },
        [&](tcp::socket socket, std::uint16_t port) -> awaitable<void> {
            auto stream =
                std::make_shared<TlsStream>(std::move(socket), client_ctx.get(), Role::client, dialled(port));
            REQUIRE_FALSE(co_await stream->handshake());
            REQUIRE_FALSE(co_await stream->write_all(message.data(), message.size()));
            // One big buffer this time: read_some returns at most a record at a time.
            std::vector<char> buffer(message.size());
            while (echoed.size() < message.size()) {
                error_code ec;
                const std::size_t n = co_await stream->read_some(buffer.data(), buffer.size(), ec);
                REQUIRE_FALSE(ec);
                REQUIRE(n > 0);
                echoed.append(buffer.data(), n);
            }
        });
    CHECK(echoed == message);
}
