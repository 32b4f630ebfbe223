#pragma once

// The certificate authority: one ECDSA P-256 root whose key lives in
// DIR/ca.key (0600) beside DIR/ca.crt, and the issuing of agent and server
// certificates from CSRs.

#include "certs/certificate_kind.hpp"
#include "certs/handles.hpp"
#include "certs/issued_certificate.hpp"
#include "common/util/result.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::certs {

inline constexpr std::string_view kCaKeyFileName = "ca.key";
inline constexpr std::string_view kCaCertificateFileName = "ca.crt";
inline constexpr std::chrono::seconds kCaValidity = std::chrono::hours(24 * 3650);
inline constexpr std::chrono::seconds kDefaultCertificateValidity = std::chrono::hours(24 * 365);

// Makes DIR (mode 0700) when missing: the CA's folder holds its private key,
// so only the owner may list it. Refuses a DIR that is not a folder.
Status ensure_private_folder(const std::filesystem::path& dir);

// Makes DIR (mode 0700) when missing, then DIR/ca.key (0600) and DIR/ca.crt:
// self-signed for 10 years, basicConstraints critical CA:TRUE pathlen:0,
// keyUsage critical keyCertSign+cRLSign, subjectKeyIdentifier. Refuses, naming
// the file, when either file already exists; never overwrites.
Status create_ca(const std::filesystem::path& dir, std::string_view common_name = "agentlb CA");

struct IssueOptions {
    CertificateKind kind = CertificateKind::agent;
    std::string common_name;                // the subject CN; the CSR's subject is ignored
    std::vector<std::string> dns_names;     // subjectAltName; a server needs at least one name or address
    std::vector<std::string> ip_addresses;  // IPv4 or IPv6 ("[::1]" is accepted too)
    std::chrono::seconds validity = kDefaultCertificateValidity;
    // For tests (e.g. certificates that have already expired).
    std::optional<std::chrono::system_clock::time_point> not_before_override;
    std::optional<std::chrono::system_clock::time_point> not_after_override;
};

class CertificateAuthority {
public:
    // Reads DIR/ca.crt and DIR/ca.key and checks that they belong together
    // and that the certificate is a CA; with DIR/ca-chain.crt (an imported
    // CA, see ca_chain.hpp), that the chain leads from it to a self-signed
    // root valid at `now`.
    static Result<CertificateAuthority> load(const std::filesystem::path& dir);
    static Result<CertificateAuthority> load(const std::filesystem::path& dir, std::int64_t now);
    // The same checks on certificates already read (`ca import`); `chain`
    // may be empty (a CA that is its own root).
    static Result<CertificateAuthority> from_parts(X509Ptr certificate,
                                                   EvpPkeyPtr key,
                                                   std::vector<X509Ptr> chain,
                                                   std::int64_t now);

    CertificateAuthority(CertificateAuthority&&) noexcept = default;
    CertificateAuthority& operator=(CertificateAuthority&&) noexcept = default;

    const std::string& certificate_pem() const { return certificate_pem_; }
    X509* certificate() const { return certificate_.get(); }
    // "sha256:" + 64 lowercase hex digits over the DER certificate.
    std::string fingerprint() const { return fingerprint_; }

    // The certificates above an imported CA (DIR/ca-chain.crt: nearest first,
    // the root last) as PEM; "" when the CA is its own root.
    const std::string& chain_pem() const { return chain_pem_; }
    // What peers verify against: the chain's root, or the CA itself. Agents
    // pin its fingerprint at enrollment.
    const std::string& trust_anchor_pem() const { return anchor_pem_; }
    const std::string& trust_anchor_fingerprint() const { return anchor_fingerprint_; }
    // The certificates a peer sends after a leaf this CA issued: the CA and
    // the chain without its root; "" when the CA is its own root (the peer
    // trusts it directly).
    const std::string& intermediates_pem() const { return intermediates_pem_; }

    // Checks the CSR (PEM, self-signature valid, key EC P-256, P-384 or RSA 2048..8192)
    // and issues a certificate: random 128-bit serial, notBefore 5 minutes in
    // the past, notAfter now + validity, SHA-256 signature.
    // agent: keyUsage digitalSignature, extendedKeyUsage clientAuth.
    // server: keyUsage digitalSignature, extendedKeyUsage serverAuth+clientAuth.
    // Safe to call from several threads at once.
    Result<IssuedCertificate> issue(std::string_view csr_pem, const IssueOptions& options) const;

    // 32 bytes derived with HKDF-SHA256 from this CA's private key (its DER)
    // and `info` (ca_derive.cpp): a secret every holder of the key computes
    // alike and nobody else can, without the key leaving this object (the
    // wrapping key of the shared TLS ticket keys). Safe from several threads.
    Result<std::array<unsigned char, 32>> derive_secret(std::string_view info) const;

private:
    CertificateAuthority(X509Ptr certificate, EvpPkeyPtr key, std::vector<X509Ptr> chain);

    X509Ptr certificate_;
    EvpPkeyPtr key_;
    std::string certificate_pem_;
    std::string fingerprint_;
    std::string chain_pem_;
    std::string anchor_pem_;
    std::string anchor_fingerprint_;
    std::string intermediates_pem_;
};

}  // namespace agentlb::certs
