#pragma once

// Key pairs and certificate signing requests made on the host that will use
// them: the private key never leaves it.

#include "certs/handles.hpp"
#include "certs/key_type.hpp"
#include "common/util/result.hpp"

#include <string>
#include <string_view>

namespace agentlb::certs {

// A fresh ECDSA key on NIST P-256 (prime256v1).
Result<EvpPkeyPtr> generate_p256_key();

// A fresh key of the type agentlb.ca.key.type names: ECDSA P-256 or P-384,
// or RSA of 3072 bits (that one takes a noticeable fraction of a second).
Result<EvpPkeyPtr> generate_key(KeyType type);

// A PEM CSR with subject CN=common_name, signed by `key` with SHA-256. The CA
// sets the issued certificate's subject itself; the CSR proves key possession.
Result<std::string> make_csr_pem(EVP_PKEY* key, std::string_view common_name);

// The keys the CA signs for: EC on P-256 or P-384, or RSA of 2048 to 8192 bits
// (larger RSA keys only cost the servers time). The reason names the key found.
Status check_key_policy(EVP_PKEY* key);

// True when `key` is the private half of the certificate's public key
// (e.g. NAME.key and NAME.crt read back from a state folder).
bool key_matches_certificate(EVP_PKEY* key, X509* certificate);

}  // namespace agentlb::certs
