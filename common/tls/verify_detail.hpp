#pragma once

// Private to agentlb_tls: the reason one of our verify callbacks refused a
// peer, kept on the SSL session for describe_verify_failure() (context.hpp).

#include <openssl/types.h>

#include <string>

namespace agentlb::tls::detail {

// Registers the ex_data index on first use; throws std::runtime_error when
// OpenSSL cannot, so call it once at context creation, not in a callback.
int verify_detail_index();

void set_verify_detail(SSL* ssl, std::string text);

}  // namespace agentlb::tls::detail
