#include "common/tls/ssl_error.hpp"

#include "common/tls/context.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdio>

namespace agentlb::tls {

namespace {

const char* const kEofWithoutCloseNotify = "peer closed the connection without close_notify";

std::string reason_text(unsigned long code) {
    if (const char* reason = ERR_reason_error_string(code)) {
        return reason;
    }
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "OpenSSL error 0x%lx", code);
    return buffer;
}

}  // namespace

SslFailure describe_ssl_failure(SSL* ssl, int ssl_error, int saved_errno) {
    SslFailure failure;
    switch (ssl_error) {
        case SSL_ERROR_ZERO_RETURN:
            failure.code = boost::asio::error::eof;
            failure.detail = "peer closed the TLS session (close_notify)";
            failure.fatal = false;
            break;
        case SSL_ERROR_SYSCALL:
        case SSL_ERROR_SSL: {
            const unsigned long code = ERR_peek_error();
            if (code == 0) {
                if (ssl_error == SSL_ERROR_SYSCALL && saved_errno != 0) {
                    failure.code = boost::system::error_code(saved_errno, boost::system::system_category());
                    failure.detail = failure.code.message();
                } else {
                    failure.code = boost::asio::error::eof;
                    failure.detail = kEofWithoutCloseNotify;
                }
            } else if (ERR_SYSTEM_ERROR(code)) {
                failure.code = boost::system::error_code(static_cast<int>(ERR_GET_REASON(code)),
                                                         boost::system::system_category());
                failure.detail = failure.code.message();
            } else if (ERR_GET_LIB(code) == ERR_LIB_SSL &&
                       ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                failure.code = boost::asio::error::eof;
                failure.detail = kEofWithoutCloseNotify;
            } else {
                // OpenSSL 3 packs library and reason into 31 bits: the cast keeps them.
                failure.code =
                    boost::system::error_code(static_cast<int>(code), boost::asio::error::get_ssl_category());
                failure.detail = reason_text(code);
                if (ERR_GET_LIB(code) == ERR_LIB_SSL &&
                    ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
                    const std::string why = describe_verify_failure(ssl);
                    if (!why.empty()) {
                        failure.detail += ": ";
                        failure.detail += why;
                    }
                }
            }
            break;
        }
        default:
            failure.code = boost::system::errc::make_error_code(boost::system::errc::protocol_error);
            failure.detail = "unexpected OpenSSL result " + std::to_string(ssl_error);
            break;
    }
    ERR_clear_error();
    return failure;
}

}  // namespace agentlb::tls
