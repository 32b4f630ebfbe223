#pragma once

// Proof that the holder of an (expired) certificate has its private key,
// bound to one TLS channel: the key signs SHA-256 over the channel's exporter
// value followed by the CSR it sends (wire::RenewExpired). A signature
// captured on one connection proves nothing on another, because the other
// connection's exporter value differs.

#include "certs/handles.hpp"
#include "common/util/result.hpp"

#include <string>
#include <string_view>

namespace agentlb::certs {

// The signature (base64) of `key` over exporter || csr_pem, with SHA-256.
Result<std::string> sign_channel_proof(EVP_PKEY* key, std::string_view exporter, std::string_view csr_pem);

// Whether `signature_base64` is the signature of `certificate`'s key over
// exporter || csr_pem. The reason says what failed, never the peer's bytes.
Status verify_channel_proof(X509* certificate,
                            std::string_view exporter,
                            std::string_view csr_pem,
                            std::string_view signature_base64);

}  // namespace agentlb::certs
