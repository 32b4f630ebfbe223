#pragma once

// The agent's key, certificate and CA certificate on disk.
//
// The key and the certificate must always be a pair. A renewal therefore
// writes the new key to a side file (KEY.new) first, then the certificate,
// then renames the side file over the key. load_credentials() finishes or
// undoes an interrupted renewal before it checks the pair.
//
// Every function blocks on the disk: call them at start or from the file
// worker.

#include "agent/agent_state.hpp"
#include "certs/handles.hpp"
#include "common/util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace agentlb::agent {

struct Credentials {
    std::string key_pem;
    std::string cert_pem;
    std::string ca_pem;          // one CA certificate or a bundle of several (a CA rotation)
    certs::X509Ptr certificate;  // parsed cert_pem
};

// KEY.new: where a renewal puts the new key until the certificate is written.
std::filesystem::path pending_key_path(const std::filesystem::path& key_file);

bool certificate_exists(const AgentSettings& settings);

// Reads the three files. An interrupted renewal is completed when KEY.new
// matches the certificate and dropped otherwise. Refuses a key that does not
// belong to the certificate, naming both files.
Result<Credentials> load_credentials(const AgentSettings& settings);

// Enrolment: key (0600), CA, then the certificate last, since its presence
// is what marks the agent as enrolled.
Status store_enrolled_key_and_ca(const AgentSettings& settings,
                                 const std::string& key_pem,
                                 const std::string& ca_pem);
Status store_enrolled_certificate(const AgentSettings& settings, const std::string& cert_pem);

// A `trust` message changed the CAs we trust: the CA file (a PEM bundle) is
// replaced atomically (a reader sees the old bundle or the new one).
Status store_trusted_cas(const AgentSettings& settings, const std::string& bundle_pem);

// Renewal: KEY.new, CA (when it changed), certificate, then KEY.new -> KEY.
Status store_renewed(const AgentSettings& settings,
                     const std::string& key_pem,
                     const std::string& cert_pem,
                     const std::string& ca_pem);

}  // namespace agentlb::agent
