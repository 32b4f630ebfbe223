#pragma once

// An OpenSSL BIO on a socket descriptor that never raises SIGPIPE.
//
// OpenSSL's own socket BIO writes with write(2): a write to a connection the
// peer has reset kills the whole process with SIGPIPE unless every program
// using this library ignores the signal. This BIO uses send(MSG_NOSIGNAL)
// instead, and otherwise behaves like BIO_s_socket with BIO_NOCLOSE: the
// descriptor stays owned by the Asio socket.
//
// A client's BIO also keeps the first bytes the server sent (at most
// kCapturedBytes), so that a failed handshake can tell a push-back line
// (common/protocol/push_back.hpp) from garbage: OpenSSL itself stops at the
// first five bytes that are no TLS record header. While the bytes received
// are the start of a push-back line, the BIO waits for the rest (or EOF)
// before OpenSSL sees any of it; TLS bytes, and anything else, pass at once.

#include <openssl/types.h>

#include <cstddef>
#include <string_view>

namespace agentlb::tls {

inline constexpr std::size_t kCapturedBytes = 64;

// A new BIO on `fd` (non-blocking), or nullptr when out of memory. With
// `capture_first_bytes`, it keeps the first bytes received (a client's).
BIO* new_socket_bio(int fd, bool capture_first_bytes = false);

// The first bytes received by a capturing BIO (empty for any other BIO).
std::string_view captured_bytes(BIO* bio);

}  // namespace agentlb::tls
