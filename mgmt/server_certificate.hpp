#pragma once

// This server's own TLS identity: NAME.key / NAME.crt in --state-dir, issued
// by the CA at start. An existing pair is reused while it still fits (same
// CA, key matches, names the advertised address, valid for more than
// kMinRemainingValidity); otherwise a fresh key and certificate replace it.

#include "certs/ca.hpp"
#include "common/util/result.hpp"

#include <chrono>
#include <filesystem>
#include <string>

namespace agentlb::mgmt {

inline constexpr std::chrono::seconds kMinRemainingValidity = std::chrono::hours(24 * 30);

struct ServerCredentials {
    std::string certificate_pem;
    std::string key_pem;  // secret: never log
    std::filesystem::path certificate_path;
    std::filesystem::path key_path;
    bool reused = false;
};

// `advertise_host` is the host part of --advertise (name or IP, no port).
Result<ServerCredentials> ensure_server_certificate(const certs::CertificateAuthority& ca,
                                                    const std::filesystem::path& state_dir,
                                                    const std::string& name,
                                                    const std::string& advertise_host,
                                                    std::int64_t now);

}  // namespace agentlb::mgmt
