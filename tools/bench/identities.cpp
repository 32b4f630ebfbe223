#include "tools/bench/identities.hpp"

#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "certs/token.hpp"
#include "common/util/clock.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace agentlb::bench {

namespace {

constexpr std::string_view kMagic = "agentlb-bench identities v1";
constexpr std::string_view kCertEnd = "-----END CERTIFICATE-----";
constexpr std::string_view kKeyEnd = "-----END PRIVATE KEY-----";
constexpr std::string_view kZone = "default";

// Reads PEM lines up to and including `end_marker`.
bool read_pem(std::istream& in, std::string_view end_marker, std::string& pem) {
    pem.clear();
    std::string line;
    while (std::getline(in, line)) {
        pem += line;
        pem += '\n';
        if (line == end_marker) {
            return true;
        }
    }
    return false;
}

struct CacheHeader {
    std::string fingerprint;
    std::string key_pem;
};

// Header and key; the stream is then at the first agent.
Result<CacheHeader> read_header(std::istream& in, const std::string& source) {
    std::string line;
    if (!std::getline(in, line) || line != kMagic) {
        return fail(source + ": not an agentlb-bench identity cache (first line)");
    }
    CacheHeader header;
    if (!std::getline(in, line) || line.rfind("ca ", 0) != 0) {
        return fail(source + ": line 2 should be 'ca sha256:...'");
    }
    header.fingerprint = line.substr(3);
    if (!read_pem(in, kKeyEnd, header.key_pem)) {
        return fail(source + ": the shared private key is cut short");
    }
    return header;
}

// One "agent NAME ID" line and its certificate; false at the end of the file.
Result<bool> read_agent(std::istream& in, const std::string& source, AgentEntry& entry, bool keep_pem) {
    std::string line;
    if (!std::getline(in, line) || line.empty()) {
        return false;
    }
    std::istringstream fields(line);
    std::string word;
    if (!(fields >> word >> entry.name >> entry.host_id) || word != "agent") {
        return fail(source + ": expected 'agent NAME ID', found '" + line.substr(0, 80) + "'");
    }
    std::string pem;
    if (!read_pem(in, kCertEnd, pem)) {
        // A run stopped while appending: the entry is incomplete.
        return false;
    }
    if (keep_pem) {
        entry.cert_pem = std::move(pem);
    }
    return true;
}

void append_agent(std::ostream& out, const AgentEntry& entry) {
    out << "agent " << entry.name << ' ' << entry.host_id << '\n' << entry.cert_pem;
    if (!entry.cert_pem.empty() && entry.cert_pem.back() != '\n') {
        out << '\n';
    }
}

Status write_fresh_cache(const std::filesystem::path& path, const IdentitySet& set) {
    std::ofstream out(path, std::ios::trunc);
    out << kMagic << '\n' << "ca " << set.ca_fingerprint << '\n' << set.key_pem;
    for (const auto& entry : set.agents) {
        append_agent(out, entry);
    }
    out.flush();
    if (!out) {
        return fail("cannot write " + path.string());
    }
    return success();
}

// The cache is trusted only while the store still has the agents it names
// with the same ids (the store may have been deleted or re-made).
bool cache_matches_store(store::Store& store, const IdentitySet& set) {
    if (set.agents.empty()) {
        return true;
    }
    for (const auto* entry : {&set.agents.front(), &set.agents[set.agents.size() / 2], &set.agents.back()}) {
        const auto host = store.find_host(entry->name);
        if (!host || host->id != entry->host_id) {
            return false;
        }
    }
    return true;
}

// A cache file read up to its first agent, and a set holding its header.
struct OpenedCache {
    std::ifstream in;
    IdentitySet set;
};

Result<OpenedCache> open_cache(const std::filesystem::path& path) {
    OpenedCache cache{std::ifstream(path), {}};
    if (!cache.in) {
        return fail("cannot read " + path.string());
    }
    auto header = read_header(cache.in, path.string());
    if (!header) {
        return fail(header.error());
    }
    cache.set.ca_fingerprint = header->fingerprint;
    cache.set.key_pem = header->key_pem;
    return cache;
}

Result<IdentitySet> load_cache(const std::filesystem::path& path) {
    auto cache = open_cache(path);
    if (!cache) {
        return fail(cache.error());
    }
    auto& [in, set] = *cache;
    for (;;) {
        AgentEntry entry;
        auto more = read_agent(in, path.string(), entry, true);
        if (!more) {
            return fail(more.error());
        }
        if (!*more) {
            break;
        }
        set.agents.push_back(std::move(entry));
    }
    return std::move(set);
}

}  // namespace

std::string agent_name(std::size_t index) {
    return fmt::format("bench-{:06}", index + 1);
}

Result<IdentitySet> ensure_identities(store::Store& store,
                                      const certs::CertificateAuthority& ca,
                                      const std::filesystem::path& cache_file,
                                      std::size_t count,
                                      const std::function<void(std::size_t, std::size_t)>& progress) {
    IdentitySet set;
    bool reuse = false;
    if (std::filesystem::exists(cache_file)) {
        auto cached = load_cache(cache_file);
        if (cached && cached->ca_fingerprint == ca.fingerprint() && cache_matches_store(store, *cached)) {
            set = std::move(cached).value();
            reuse = true;
        }
    }
    if (!reuse) {
        auto key = certs::generate_p256_key();
        if (!key) {
            return fail("shared agent key: " + key.error());
        }
        set.ca_fingerprint = ca.fingerprint();
        set.key_pem = certs::private_key_to_pem(key->get());
        set.agents.clear();
        if (auto status = write_fresh_cache(cache_file, set); !status) {
            return fail(status.error());
        }
    }
    // A cache written by a run that was stopped may be shorter than the
    // store: re-enrolling an existing name keeps its id (token with --name).
    if (set.agents.size() >= count) {
        return set;
    }
    if (reuse) {
        // Drops a half-written last entry left by a stopped run before appending.
        if (auto status = write_fresh_cache(cache_file, set); !status) {
            return fail(status.error());
        }
    }
    auto key = certs::parse_private_key_pem(set.key_pem);
    if (!key) {
        return fail(cache_file.string() + ": shared key: " + key.error());
    }
    auto csr = certs::make_csr_pem(key->get(), "agentlb-bench");
    if (!csr) {
        return fail("shared CSR: " + csr.error());
    }
    std::ofstream out(cache_file, std::ios::app);
    for (std::size_t i = set.agents.size(); i < count; ++i) {
        const std::string name = agent_name(i);
        const std::string token = certs::generate_join_token();
        store::TokenSpec spec;
        spec.hash = certs::hash_token(token);
        spec.name = name;
        spec.created_at = util::unix_now();
        spec.expires_at = spec.created_at + 3600;
        store.create_token(spec);
        store::RedeemRequest request;
        request.token_hash = spec.hash;
        request.name = name;
        request.zone = std::string(kZone);
        request.now = util::unix_now();
        const std::string& csr_pem = *csr;
        auto enrolled = store.redeem_token(
            request, [&ca, &csr_pem](const store::HostRecord& host) -> Result<store::IssuedCertificate> {
                certs::IssueOptions options;
                options.kind = certs::CertificateKind::agent;
                options.common_name = host.name;
                auto issued = ca.issue(csr_pem, options);
                if (!issued) {
                    return fail(issued.error());
                }
                return store::IssuedCertificate{issued->pem, issued->serial, issued->not_after};
            });
        if (!enrolled) {
            return fail("enrolling " + name + ": " + enrolled.error());
        }
        AgentEntry entry{name, enrolled->host.id, enrolled->certificate.pem};
        append_agent(out, entry);
        set.agents.push_back(std::move(entry));
        if (progress && ((i + 1) % 1000 == 0 || i + 1 == count)) {
            out.flush();
            progress(i + 1, count);
        }
    }
    out.flush();
    if (!out) {
        return fail("cannot append to " + cache_file.string());
    }
    return set;
}

Result<IdentitySet> load_identity_range(const std::filesystem::path& cache_file,
                                        std::size_t begin,
                                        std::size_t end) {
    auto cache = open_cache(cache_file);
    if (!cache) {
        return fail(cache.error());
    }
    auto& [in, set] = *cache;
    for (std::size_t i = 0; i < end; ++i) {
        AgentEntry entry;
        auto more = read_agent(in, cache_file.string(), entry, i >= begin);
        if (!more) {
            return fail(more.error());
        }
        if (!*more) {
            return fail(fmt::format("{} holds {} agents, {} needed", cache_file.string(), i, end));
        }
        if (i >= begin) {
            set.agents.push_back(std::move(entry));
        }
    }
    return std::move(set);
}

Result<ServerCredentials> issue_loopback_server(const certs::CertificateAuthority& ca) {
    auto key = certs::generate_p256_key();
    if (!key) {
        return fail(key.error());
    }
    auto csr = certs::make_csr_pem(key->get(), "agentlb-bench-floor");
    if (!csr) {
        return fail(csr.error());
    }
    certs::IssueOptions options;
    options.kind = certs::CertificateKind::server;
    options.common_name = "agentlb-bench-floor";
    options.ip_addresses = {"127.0.0.1"};
    auto issued = ca.issue(*csr, options);
    if (!issued) {
        return fail(issued.error());
    }
    return ServerCredentials{issued->pem, certs::private_key_to_pem(key->get())};
}

}  // namespace agentlb::bench
