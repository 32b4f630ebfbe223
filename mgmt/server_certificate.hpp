#pragma once

// This server's own TLS identity: NAME.key / NAME.crt in --state-dir, issued
// by the CA. At start an existing pair is reused while it still fits (same
// CA, key matches, names the advertised address, its renewal point not
// reached); otherwise a fresh key and certificate replace it. While running,
// ServerRenewal (server_renewal.hpp) issues a new pair at the renewal point.

#include "certs/ca.hpp"
#include "certs/key_type.hpp"
#include "common/lb/certificate_settings.hpp"
#include "common/util/result.hpp"

#include <chrono>
#include <filesystem>
#include <string>

namespace agentlb::mgmt {

struct ServerCredentials {
    std::string certificate_pem;
    std::string key_pem;  // secret: never log
    std::filesystem::path certificate_path;
    std::filesystem::path key_path;
    bool reused = false;
    std::string serial{};
    std::int64_t not_after = 0;
};

// What a new server certificate is made with, and when it is due (the global
// certificate settings: agentlb.ca.server.cert.validity.period,
// agentlb.ca.key.type, agentlb.ca.cert.renewal.fraction).
struct ServerCertificatePolicy {
    std::chrono::seconds validity = std::chrono::hours(24 * 365);
    certs::KeyType key_type = certs::KeyType::p256;
    int renewal_permille = lb::kDefaultRenewalPermille;
};

ServerCertificatePolicy server_policy_of(const lb::CertificateSettings& settings);

// `advertise_host` is the host part of --advertise (name or IP, no port).
Result<ServerCredentials> ensure_server_certificate(const certs::CertificateAuthority& ca,
                                                    const std::filesystem::path& state_dir,
                                                    const std::string& name,
                                                    const std::string& advertise_host,
                                                    std::int64_t now,
                                                    const ServerCertificatePolicy& policy = {});

// Always a fresh key and certificate, written over NAME.key (0600, first) and
// NAME.crt, each atomically.
Result<ServerCredentials> issue_server_certificate(const certs::CertificateAuthority& ca,
                                                   const std::filesystem::path& state_dir,
                                                   const std::string& name,
                                                   const std::string& advertise_host,
                                                   const ServerCertificatePolicy& policy);

}  // namespace agentlb::mgmt
