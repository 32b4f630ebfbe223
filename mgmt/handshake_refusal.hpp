#pragma once

// Short, stable reasons for refused agent connections: the label of
// agentlb_handshakes_total{result=...} and the first word of the warn line.

#include <boost/system/error_code.hpp>

#include <string>

namespace agentlb::mgmt {

// `verify_result` is SSL_get_verify_result() of the session (our verify
// callback sets X509_V_ERR_CERT_REVOKED for a revoked serial), `timed_out`
// whether our deadline closed the socket. Decided by codes, never by text. Results: "timeout", "closed",
// "no_certificate", "expired", "revoked", "unknown_ca", "bad_certificate", "tls_version", "not_tls",
// "tls_error".
std::string classify_handshake_failure(const boost::system::error_code& ec,
                                       long verify_result,
                                       bool timed_out);

}  // namespace agentlb::mgmt
