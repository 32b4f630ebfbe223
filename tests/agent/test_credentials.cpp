#include "agent/credentials.hpp"
#include "certs/ca.hpp"
#include "certs/inspect.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "common/util/atomic_file.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

using namespace agentlb;
using namespace agentlb::agent;
namespace fs = std::filesystem;
using agentlb::test::TempDir;

namespace {

struct Pair {
    std::string key_pem;
    std::string cert_pem;
};

// A CA in a temp folder and the agent's files beside a properties path.
class Files {
public:
    Files() {
        REQUIRE(certs::create_ca(dir_ / "ca").ok());
        auto ca = certs::CertificateAuthority::load(dir_ / "ca");
        REQUIRE(ca.ok());
        ca_ = std::make_unique<certs::CertificateAuthority>(std::move(*ca));
        auto file = props::PropertiesFile::parse("", "t");
        REQUIRE(file.ok());
        auto s = settings_from_properties(*file, dir_ / "agent" / "agent.properties");
        REQUIRE(s.ok());
        settings_ = *s;
        fs::create_directories(dir_ / "agent");
    }

    Pair issue(const std::string& name) {
        auto key = certs::generate_p256_key();
        REQUIRE(key.ok());
        auto csr = certs::make_csr_pem(key->get(), name);
        REQUIRE(csr.ok());
        certs::IssueOptions options;
        options.common_name = name;
        auto issued = ca_->issue(*csr, options);
        REQUIRE(issued.ok());
        return {certs::private_key_to_pem(key->get()), issued->pem};
    }

    void write(const fs::path& path, const std::string& text, ::mode_t mode = 0644) {
        REQUIRE(util::write_file_atomically(path, text, mode).ok());
    }

    void install(const Pair& pair) {
        write(settings_.key_file, pair.key_pem, 0600);
        write(settings_.cert_file, pair.cert_pem);
        write(settings_.ca_file, ca_->certificate_pem());
    }

    const AgentSettings& settings() const { return settings_; }
    const std::string& ca_pem() const { return ca_->certificate_pem(); }

private:
    TempDir dir_;
    std::unique_ptr<certs::CertificateAuthority> ca_;
    AgentSettings settings_;
};

std::string serial_in(const std::string& cert_pem) {
    auto cert = certs::parse_certificate_pem(cert_pem);
    REQUIRE(cert.ok());
    return certs::serial_of(cert->get());
}

}  // namespace

TEST_CASE("credentials load when key and certificate belong together") {
    Files files;
    const auto pair = files.issue("h1");
    files.install(pair);
    CHECK(certificate_exists(files.settings()));
    auto creds = load_credentials(files.settings());
    REQUIRE(creds.ok());
    CHECK(creds->key_pem == pair.key_pem);
    CHECK(certs::common_name_of(creds->certificate.get()) == "h1");
}

TEST_CASE("a key that does not match the certificate is refused naming both files") {
    Files files;
    auto pair = files.issue("h1");
    pair.key_pem = files.issue("h1").key_pem;
    files.install(pair);
    auto creds = load_credentials(files.settings());
    REQUIRE_FALSE(creds.ok());
    CHECK_THAT(creds.error(),
               Catch::Contains(files.settings().key_file.string()) &&
                   Catch::Contains(files.settings().cert_file.string()) &&
                   Catch::Contains("does not belong"));
}

TEST_CASE("missing credential files are named") {
    Files files;
    CHECK_FALSE(certificate_exists(files.settings()));
    auto creds = load_credentials(files.settings());
    REQUIRE_FALSE(creds.ok());
    CHECK_THAT(creds.error(), Catch::Contains("agent.key"));
}

TEST_CASE("a renewal stores a consistent new pair and leaves no side file") {
    Files files;
    files.install(files.issue("h1"));
    const auto renewed = files.issue("h1");
    REQUIRE(store_renewed(files.settings(), renewed.key_pem, renewed.cert_pem, files.ca_pem()).ok());
    auto creds = load_credentials(files.settings());
    REQUIRE(creds.ok());
    CHECK(creds->key_pem == renewed.key_pem);
    CHECK(serial_in(creds->cert_pem) == serial_in(renewed.cert_pem));
    CHECK_FALSE(fs::exists(pending_key_path(files.settings().key_file)));
    struct ::stat st {};
    REQUIRE(::stat(files.settings().key_file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("a renewal interrupted after the certificate was written is completed at start") {
    Files files;
    files.install(files.issue("h1"));
    const auto renewed = files.issue("h1");
    // Crash after steps 1 and 2: new key in the side file, new certificate in place.
    files.write(pending_key_path(files.settings().key_file), renewed.key_pem, 0600);
    files.write(files.settings().cert_file, renewed.cert_pem);
    auto creds = load_credentials(files.settings());
    REQUIRE(creds.ok());
    CHECK(creds->key_pem == renewed.key_pem);
    CHECK_FALSE(fs::exists(pending_key_path(files.settings().key_file)));
}

TEST_CASE("a renewal interrupted before the certificate was written is dropped at start") {
    Files files;
    const auto original = files.issue("h1");
    files.install(original);
    files.write(pending_key_path(files.settings().key_file), files.issue("h1").key_pem, 0600);
    auto creds = load_credentials(files.settings());
    REQUIRE(creds.ok());
    CHECK(creds->key_pem == original.key_pem);
    CHECK_FALSE(fs::exists(pending_key_path(files.settings().key_file)));
}

TEST_CASE("the trusted CAs are stored as a bundle that loads back, with no temporary file left") {
    Files files;
    files.install(files.issue("h1"));
    TempDir other;
    REQUIRE(certs::create_ca(other.path() / "ca").ok());
    auto second = certs::CertificateAuthority::load(other.path() / "ca");
    REQUIRE(second.ok());
    const std::string bundle = files.ca_pem() + second->certificate_pem();
    REQUIRE(store_trusted_cas(files.settings(), bundle).ok());
    auto creds = load_credentials(files.settings());
    REQUIRE(creds.ok());
    CHECK(creds->ca_pem == bundle);
    std::size_t entries = 0;
    for (const auto& entry : fs::directory_iterator(files.settings().ca_file.parent_path())) {
        CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);
        ++entries;
    }
    CHECK(entries == 3);  // key, certificate, CA bundle
    struct ::stat st {};
    REQUIRE(::stat(files.settings().ca_file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);
}
