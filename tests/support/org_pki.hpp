#pragma once

// An organisation's PKI made at run time, for tests of `agentlbctl ca import`:
// a self-signed root -> an intermediate -> the CA agentlb imports (and
// variants made to be refused). Nothing is committed: keys are fresh each run.

#include "certs/handles.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace agentlb::test {

struct PkiCertificate {
    certs::X509Ptr certificate;
    certs::EvpPkeyPtr key;

    std::string pem() const;
    std::string key_pem() const;
};

struct PkiCertificateSpec {
    std::string common_name;
    // OpenSSL config syntax, e.g. "critical,CA:TRUE,pathlen:0"; "" leaves the extension out.
    std::string basic_constraints = "critical,CA:TRUE";
    std::string key_usage = "critical,keyCertSign,cRLSign";
    std::int64_t not_before_offset = -3600;  // seconds from now
    std::int64_t not_after_offset = 30 * 24 * 3600;
    std::string extended_key_usage = "";  // e.g. "clientAuth"; "" leaves it out
};

// A certificate for a fresh P-256 key, signed by `issuer` (self-signed when null).
PkiCertificate make_pki_certificate(const PkiCertificateSpec& spec, const PkiCertificate* issuer);

// root (CA, no path length limit) -> intermediate (CA, pathlen:1) -> issuing
// (CA, pathlen:0): `issuing` is the CA to import, `chain_pem()` its issuers.
struct OrgPki {
    PkiCertificate root;
    PkiCertificate intermediate;
    PkiCertificate issuing;

    OrgPki();
    std::string chain_pem() const;  // intermediate, then root

    // DIR/issuing.crt, DIR/issuing.key (0600), DIR/chain.crt; returns DIR.
    std::filesystem::path write(const std::filesystem::path& dir) const;
};

}  // namespace agentlb::test
