#pragma once

// The simulated agents' identities: one host row per agent in the store
// (registered through a real token redemption, as the enrollment port does)
// and one certificate per agent, all for one shared P-256 key, so that
// minting 100,000 of them costs signatures, not key generation.
//
// Minting is slow (two store transactions per agent), so the set is cached in
// the work folder (identities.txt) and reused while the CA and the store
// still match it; a larger N mints only the missing agents.

#include "certs/ca.hpp"
#include "certs/handles.hpp"
#include "common/store/store.hpp"
#include "common/util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace agentlb::bench {

struct AgentEntry {
    std::string name;  // also the certificate's CN
    std::int64_t host_id = 0;
    std::string cert_pem;
};

struct IdentitySet {
    std::string ca_fingerprint;
    std::string key_pem;  // shared by every agent
    std::vector<AgentEntry> agents;
};

// "bench-000001" for index 0.
std::string agent_name(std::size_t index);

// Makes sure the first `count` agents exist in the store and the cache, and
// returns them (and any more the cache held). `progress` is called now and then
// with (done, count) while minting.
Result<IdentitySet> ensure_identities(store::Store& store,
                                      const certs::CertificateAuthority& ca,
                                      const std::filesystem::path& cache_file,
                                      std::size_t count,
                                      const std::function<void(std::size_t, std::size_t)>& progress);

// Reads agents [begin, end) of the cache (as a worker does), with the key.
Result<IdentitySet> load_identity_range(const std::filesystem::path& cache_file,
                                        std::size_t begin,
                                        std::size_t end);

struct ServerCredentials {
    std::string cert_pem;
    std::string key_pem;
};

// A server certificate for 127.0.0.1 (for the in-process floor measurement).
Result<ServerCredentials> issue_loopback_server(const certs::CertificateAuthority& ca);

}  // namespace agentlb::bench
