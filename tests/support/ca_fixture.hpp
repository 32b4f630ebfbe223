#pragma once

// A CA and a store in a fresh temp folder, as `agentlbctl ca init` would
// leave them, plus helpers that mint agent identities with the real certs/
// and store code (no agent daemon needed).

#include "certs/ca.hpp"
#include "common/store/store.hpp"
#include "tests/support/temp_dir.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace agentlb::test {

// What an agent holds after enrollment.
struct AgentIdentity {
    std::string name;
    std::string zone;
    std::int64_t host_id = 0;
    std::string key_pem;
    std::string cert_pem;
    std::string serial;
    std::string csr_pem;  // the CSR the certificate was issued from
};

struct MintOptions {
    std::optional<std::chrono::system_clock::time_point> not_before;
    std::optional<std::chrono::system_clock::time_point> not_after;
};

// A fresh key and a CSR for `name`.
struct KeyAndCsr {
    std::string key_pem;
    std::string csr_pem;
};
KeyAndCsr make_key_and_csr(const std::string& name);

class CaFixture {
public:
    // The store is an SQLite file in the temp folder.
    CaFixture();
    // The store is `db` (any --db value: a PostgreSQL URI from
    // PgTestDatabase), given the schema and the CA through store::open_store.
    explicit CaFixture(std::string db);
    // The CA is written into ca_dir() by `make_ca_dir` (e.g. certs::import_ca:
    // DIR/ca.key, ca.crt and maybe ca-chain.crt) instead of `ca init`, and
    // recorded in the store with its chain.
    using CaDirMaker = std::function<void(const std::filesystem::path& ca_dir)>;
    CaFixture(std::string db, const CaDirMaker& make_ca_dir);

    const TempDir& dir() const { return dir_; }
    std::filesystem::path ca_dir() const { return dir_ / "ca"; }
    // The --db value of the servers and agentlbctl: the SQLite file's path,
    // or the value given to the constructor.
    const std::string& db_path() const { return db_; }
    const certs::CertificateAuthority& ca() const { return *ca_; }
    std::string ca_pem() const { return ca_->certificate_pem(); }
    std::string ca_fingerprint() const { return ca_->fingerprint(); }
    // What agents pin: an imported CA's root, else the CA's own fingerprint.
    std::string anchor_fingerprint() const { return ca_->trust_anchor_fingerprint(); }
    // This test thread's own store connection.
    store::Store& store() { return *store_; }

    // Throws std::runtime_error with the store's reason when refused.
    void set_config(const std::string& key, const std::string& value);

    // Stores a join token and returns its text.
    std::string create_token(std::optional<std::string> zone = std::nullopt,
                             std::optional<std::string> name = std::nullopt,
                             std::chrono::seconds ttl = std::chrono::hours(1));

    // Registers the host through a real token redemption (as the enrollment
    // port does) and returns its key and certificate.
    AgentIdentity enroll(const std::string& name, const std::string& zone = "default");

    // A certificate from this CA for `name` that the store knows nothing of.
    AgentIdentity mint(const std::string& name, const MintOptions& options = {}) const;

private:
    TempDir dir_;
    std::string db_;
    std::unique_ptr<certs::CertificateAuthority> ca_;
    std::unique_ptr<store::Store> store_;
};

// A second, unrelated CA (for "certificate from another CA" tests).
class ForeignCa {
public:
    ForeignCa();
    AgentIdentity mint(const std::string& name) const;
    std::string ca_pem() const { return ca_->certificate_pem(); }

private:
    TempDir dir_;
    std::unique_ptr<certs::CertificateAuthority> ca_;
};

}  // namespace agentlb::test
