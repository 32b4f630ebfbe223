#pragma once

// `agentlbctl ca import`: a CA issued by the organisation's PKI becomes the
// CA agentlb issues from, with the chain up to the organisation's root.

#include "common/util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>

namespace agentlb::certs {

struct CaImportFiles {
    std::filesystem::path certificate;  // the CA to issue from (PEM)
    std::filesystem::path key;          // its private key (unencrypted PEM)
    // Its issuers (PEM, nearest first, the self-signed root last); none when
    // the certificate is itself a self-signed root.
    std::optional<std::filesystem::path> chain;
};

// Checks, in this order, each refusal naming the file: the certificate is a
// CA allowed to sign certificates (basicConstraints CA:TRUE, keyUsage
// keyCertSign) and valid at `now`; the key is its private key; the chain
// leads from it to a self-signed root (a certificate issued by another CA
// without a chain is refused); a certificate it issues verifies up to the
// root (path length constraints included). Then writes DIR/ca.key (0600),
// DIR/ca.crt and, with a chain, DIR/ca-chain.crt, making DIR (0700) when
// missing. Refuses, before writing anything, when DIR holds any of the three;
// a failed write removes what it wrote.
Status import_ca(const std::filesystem::path& dir, const CaImportFiles& files, std::int64_t now);

}  // namespace agentlb::certs
