#pragma once

// Shared by the TlsStream tests (stream_*_test.cpp): loopback connections and
// reading a given number of bytes.

#include "common/tls/stream.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace agentlb::tls::test {

// A socket connected to 127.0.0.1:port.
boost::asio::awaitable<boost::asio::ip::tcp::socket> connect_to(std::uint16_t port);

// What a client dials to reach 127.0.0.1:port (the expected server).
std::string dialled(std::uint16_t port);

// Reads until `size` bytes arrived, through a buffer smaller than a TLS record
// so that OpenSSL keeps the rest of a record between calls.
boost::asio::awaitable<std::string> read_bytes(std::shared_ptr<TlsStream> stream,
                                               std::size_t size,
                                               boost::system::error_code& ec);

}  // namespace agentlb::tls::test
