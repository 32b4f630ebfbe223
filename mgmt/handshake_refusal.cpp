#include "mgmt/handshake_refusal.hpp"

#include "certs/verify.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace agentlb::mgmt {

std::string classify_handshake_failure(const boost::system::error_code& ec,
                                       long verify_result,
                                       bool timed_out) {
    if (timed_out) {
        return "timeout";
    }
    switch (verify_result) {
        case X509_V_OK:
            break;
        case X509_V_ERR_CERT_HAS_EXPIRED:
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return "expired";
        case X509_V_ERR_CERT_REVOKED:
            return "revoked";
        default:
            return certs::is_foreign_issuer_error(verify_result) ? "unknown_ca" : "bad_certificate";
    }
    if (ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset) {
        return "closed";
    }
    if (ec.category() == boost::asio::error::get_ssl_category()) {
        switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
            case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
                return "no_certificate";
            case SSL_R_CERTIFICATE_VERIFY_FAILED:
                return "bad_certificate";
            case SSL_R_UNSUPPORTED_PROTOCOL:
            case SSL_R_VERSION_TOO_LOW:
            case SSL_R_NO_SHARED_CIPHER:
            case SSL_R_NO_PROTOCOLS_AVAILABLE:
                return "tls_version";
            case SSL_R_WRONG_VERSION_NUMBER:
            case SSL_R_HTTP_REQUEST:
            case SSL_R_HTTPS_PROXY_REQUEST:
            case SSL_R_PACKET_LENGTH_TOO_LONG:
            case SSL_R_RECORD_LENGTH_MISMATCH:
            case SSL_R_UNEXPECTED_MESSAGE:
            case SSL_R_UNEXPECTED_RECORD:
            case SSL_R_LENGTH_MISMATCH:
            case SSL_R_BAD_PACKET_LENGTH:
                return "not_tls";
            default:
                break;
        }
    }
    return "tls_error";
}

}  // namespace agentlb::mgmt
