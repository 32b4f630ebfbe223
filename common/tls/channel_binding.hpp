#pragma once

// The value both ends of one TLS connection derive and nobody else can: the
// TLS exporter (RFC 8446 7.5) with wire::kRenewExpiredExporterLabel, no
// context, 32 bytes. `renew_expired` signs it (certs/possession.hpp).

#include "common/util/result.hpp"

#include <openssl/types.h>

#include <string>

namespace agentlb::tls {

// Only after the handshake; refused before it or when OpenSSL fails.
Result<std::string> renew_expired_exporter(SSL* ssl);

}  // namespace agentlb::tls
