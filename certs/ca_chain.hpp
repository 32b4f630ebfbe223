#pragma once

// A CA issued by another PKI (`agentlbctl ca import`): the certificates above
// it, nearest first, the organisation's self-signed root last, kept in
// DIR/ca-chain.crt beside DIR/ca.crt. The root is the trust anchor agents and
// servers verify against; the CA and the certificates between it and the
// root travel after each leaf.

#include "certs/handles.hpp"
#include "common/util/result.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::certs {

inline constexpr std::string_view kCaChainFileName = "ca-chain.crt";
// Certificates in a chain: two intermediates and the root. With the CA and a
// leaf that is the TLS verification depth (common/tls/context.cpp) and what
// the wire's frame budget allows for (lb::kChainAllowance).
inline constexpr std::size_t kMaxCaChainLength = 3;

// A certificate as an operator recognises it in a message: "CN=..." (or the
// whole subject when there is no CN).
std::string describe_certificate(X509* certificate);

// Whether `ca` is a CA that may issue certificates: basicConstraints CA:TRUE
// and keyUsage with keyCertSign (RFC 5280 requires both of a CA).
Status check_issuing_ca(X509* ca);

// Whether `chain` leads from `ca` up to a self-signed root: each certificate
// is a CA that issued the one before it (names and signature), the last one
// signed itself, and all are valid at `now` (Unix seconds); then OpenSSL's
// strict verification of `ca` against the root (path length constraints
// included). The reason names the certificate ("certificate 2 of the chain
// (CN=...)") and what is wrong with it.
Status check_ca_chain(X509* ca, const std::vector<X509Ptr>& chain, std::int64_t now);

// The fingerprint of the chain's last certificate (the root agents pin), from
// the chain as the store keeps it.
Result<std::string> root_fingerprint_of_chain(std::string_view chain_pem);

// The certificates after the first one of a PEM bundle, as PEM: what an
// agent's certificate file holds after its leaf (an imported CA's
// intermediates); "" when there is only the leaf.
Result<std::string> pem_after_first(std::string_view pem);

}  // namespace agentlb::certs
