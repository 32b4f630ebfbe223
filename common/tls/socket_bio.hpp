#pragma once

// An OpenSSL BIO on a socket descriptor that never raises SIGPIPE.
//
// OpenSSL's own socket BIO writes with write(2): a write to a connection the
// peer has reset kills the whole process with SIGPIPE unless every program
// using this library ignores the signal. This BIO uses send(MSG_NOSIGNAL)
// instead, and otherwise behaves like BIO_s_socket with BIO_NOCLOSE: the
// descriptor stays owned by the Asio socket.

#include <openssl/types.h>

namespace agentlb::tls {

// A new BIO on `fd` (non-blocking), or nullptr when out of memory.
BIO* new_socket_bio(int fd);

}  // namespace agentlb::tls
