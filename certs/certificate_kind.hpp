#pragma once

#include <string_view>

namespace agentlb::certs {

// What a certificate is for. Agent certificates authenticate a host to the
// management servers (clientAuth only); server certificates authenticate a
// management server (serverAuth, plus clientAuth for server-to-server links).
enum class CertificateKind { agent, server };

constexpr std::string_view to_string(CertificateKind kind) {
    return kind == CertificateKind::agent ? "agent" : "server";
}

}  // namespace agentlb::certs
