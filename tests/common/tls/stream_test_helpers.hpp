#pragma once

// Shared by the TlsStream tests (stream_*_test.cpp): loopback connections and
// reading a given number of bytes.

#include "common/tls/stream.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace agentlb::tls::test {

// The names every stream test uses, so that each file does not repeat them.
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using boost::system::error_code;

// A socket connected to 127.0.0.1:port.
awaitable<asio::ip::tcp::socket> connect_to(std::uint16_t port);

// What a client dials to reach 127.0.0.1:port (the expected server).
std::string dialled(std::uint16_t port);

// Reads until `size` bytes arrived, through a buffer smaller than a TLS record
// so that OpenSSL keeps the rest of a record between calls.
awaitable<std::string> read_bytes(std::shared_ptr<TlsStream> stream, std::size_t size, error_code& ec);

// The server side of a test connection: gets the accepted socket.
using ServerBody = std::function<awaitable<void>(asio::ip::tcp::socket socket)>;
// The client side: gets a socket connected to the server and the port it
// dialled (for dialled()).
using ClientBody = std::function<awaitable<void>(asio::ip::tcp::socket socket, std::uint16_t port)>;

// One connection on 127.0.0.1: runs `server` and `client` on `ioc` until no
// work is left or run_capped's cap has passed, then REQUIREs that both
// finished and rethrows what either threw. Other tasks a body starts on `ioc`
// are the caller's to check. Returns the time taken.
std::chrono::milliseconds run_connection(asio::io_context& ioc, ServerBody server, ClientBody client);
// The same on an io_context of its own.
std::chrono::milliseconds run_connection(ServerBody server, ClientBody client);

// The common name in the peer's certificate; empty when it presented none.
std::string peer_common_name(const SSL* ssl);

}  // namespace agentlb::tls::test
