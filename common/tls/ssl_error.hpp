#pragma once

// Turning a failed SSL_* call into an error_code plus a reason for logs.

#include <boost/system/error_code.hpp>

#include <openssl/types.h>

#include <string>

namespace agentlb::tls {

struct SslFailure {
    boost::system::error_code code;
    std::string detail;
    // True when OpenSSL forbids further use of the session (SSL_shutdown included).
    bool fatal = true;
};

// ssl_error is SSL_get_error() of the failed call and saved_errno the errno
// right after it. Drains this thread's OpenSSL error queue. A close by the peer,
// with close_notify or without (SSL_R_UNEXPECTED_EOF_WHILE_READING), becomes
// boost::asio::error::eof; OpenSSL errors keep their packed code in
// boost::asio::error::get_ssl_category(), so ERR_GET_REASON(code.value()) works.
SslFailure describe_ssl_failure(SSL* ssl, int ssl_error, int saved_errno);

}  // namespace agentlb::tls
