#include "stream_test_helpers.hpp"

#include "common/tls/context.hpp"
#include "tls_test_support.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/this_coro.hpp>

#include <catch2/catch.hpp>
#include <openssl/x509.h>

namespace agentlb::tls::test {

using tcp = asio::ip::tcp;

awaitable<tcp::socket> connect_to(std::uint16_t port) {
    tcp::socket socket(co_await asio::this_coro::executor);
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    co_await socket.async_connect(endpoint, use_awaitable);
    co_return socket;
}

std::string dialled(std::uint16_t port) {
    return "127.0.0.1:" + std::to_string(port);
}

awaitable<std::string> read_bytes(std::shared_ptr<TlsStream> stream, std::size_t size, error_code& ec) {
    std::string out;
    char buffer[3000];
    while (out.size() < size) {
        const std::size_t n = co_await stream->read_some(buffer, sizeof buffer, ec);
        if (ec) {
            break;
        }
        out.append(buffer, n);
    }
    co_return out;
}

std::chrono::milliseconds run_connection(asio::io_context& ioc, ServerBody server, ClientBody client) {
    auto acceptor = make_loopback_acceptor(ioc);
    const std::uint16_t port = acceptor.local_endpoint().port();
    Task server_task(
        ioc, [&]() -> awaitable<void> { co_await server(co_await acceptor.async_accept(use_awaitable)); });
    Task client_task(ioc, [&]() -> awaitable<void> { co_await client(co_await connect_to(port), port); });
    const auto took = run_capped(ioc);
    REQUIRE(server_task.done());
    REQUIRE(client_task.done());
    server_task.check();
    client_task.check();
    return took;
}

std::chrono::milliseconds run_connection(ServerBody server, ClientBody client) {
    asio::io_context ioc;
    return run_connection(ioc, std::move(server), std::move(client));
}

std::string peer_common_name(const SSL* ssl) {
    const auto peer = peer_certificate(ssl);
    if (!peer) {
        return {};
    }
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer.get()), NID_commonName, cn, sizeof cn);
    return cn;
}

}  // namespace agentlb::tls::test
