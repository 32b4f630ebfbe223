#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "common/util/atomic_file.hpp"
#include "tests/certs/certs_fixture.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <sys/stat.h>

using namespace agentlb::certs;
using agentlb::certs::test::mode_of;
using agentlb::certs::test::TempDir;
using agentlb::util::read_file;
using agentlb::util::write_file_atomically;

namespace {

// Restores the process umask when a test ends.
class ScopedUmask {
public:
    explicit ScopedUmask(::mode_t mask) : previous_(::umask(mask)) {}
    ~ScopedUmask() { ::umask(previous_); }

private:
    ::mode_t previous_;
};

}  // namespace

// Built from parts so no key-looking text sits in the repository.
const std::string kPkcs8Header = std::string("-----BEGIN ") + "PRIVATE" + " KEY-----";

TEST_CASE("private key files are 0600 even with a permissive umask") {
    TempDir temp;
    ScopedUmask open_umask(0);
    auto key = generate_p256_key();
    REQUIRE(key.ok());
    const auto path = temp.path() / "agent.key";
    REQUIRE(save_private_key_file(path, key->get()).ok());
    CHECK(mode_of(path) == 0600);
    // Replacing keeps the mode.
    REQUIRE(save_private_key_file(path, key->get(), Overwrite::replace).ok());
    CHECK(mode_of(path) == 0600);

    auto loaded = load_private_key_file(path);
    REQUIRE(loaded.ok());
    CHECK(EVP_PKEY_eq(loaded->get(), key->get()) == 1);
    auto text = read_file(path);
    REQUIRE(text.ok());
    CHECK_THAT(*text, Catch::StartsWith(kPkcs8Header));
}

TEST_CASE("write_file_atomically refuses to overwrite when asked and replaces otherwise") {
    TempDir temp;
    const auto path = temp.path() / "file";
    REQUIRE(write_file_atomically(path, "one", 0644, Overwrite::refuse).ok());
    auto refused = write_file_atomically(path, "two", 0644, Overwrite::refuse);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error(), Catch::Contains(path.string()) && Catch::Contains("already exists"));
    CHECK(*read_file(path) == "one");

    REQUIRE(write_file_atomically(path, "three", 0640, Overwrite::replace).ok());
    CHECK(*read_file(path) == "three");
    CHECK(mode_of(path) == 0640);
    CHECK(std::distance(std::filesystem::directory_iterator(temp.path()),
                        std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("write_file_atomically names a folder that does not exist") {
    TempDir temp;
    auto written = write_file_atomically(temp.path() / "missing" / "file", "x", 0644, Overwrite::replace);
    REQUIRE_FALSE(written.ok());
    CHECK_THAT(written.error(), Catch::Contains("missing"));
}

TEST_CASE("read_file refuses missing and oversized files") {
    TempDir temp;
    auto missing = read_file(temp.path() / "nope");
    REQUIRE_FALSE(missing.ok());
    CHECK_THAT(missing.error(), Catch::Contains("nope"));

    REQUIRE(write_file_atomically(temp.path() / "big", std::string(100, 'x'), 0644, Overwrite::refuse).ok());
    auto big = read_file(temp.path() / "big", 50);
    REQUIRE_FALSE(big.ok());
    CHECK_THAT(big.error(), Catch::Contains("too large"));
}

TEST_CASE("PEM parsers name what they expected") {
    auto certificate = parse_certificate_pem("garbage");
    REQUIRE_FALSE(certificate.ok());
    CHECK_THAT(certificate.error(), Catch::StartsWith("not a valid PEM certificate"));
    auto key = parse_private_key_pem("garbage");
    REQUIRE_FALSE(key.ok());
    CHECK_THAT(key.error(), Catch::StartsWith("not a valid PEM private key"));
    auto csr = parse_csr_pem("garbage");
    REQUIRE_FALSE(csr.ok());
    CHECK_THAT(csr.error(), Catch::Contains("CSR"));
}

TEST_CASE("load_certificate_file names the file it could not parse") {
    TempDir temp;
    const auto path = temp.path() / "bad.crt";
    REQUIRE(write_file_atomically(path, "not a certificate", 0644, Overwrite::refuse).ok());
    auto loaded = load_certificate_file(path);
    REQUIRE_FALSE(loaded.ok());
    CHECK_THAT(loaded.error(), Catch::StartsWith(path.string()));
}

TEST_CASE("certificates round-trip through PEM text and files") {
    agentlb::certs::test::TestCa test_ca;
    TempDir temp;
    const auto path = temp.path() / "copy.crt";
    REQUIRE(save_certificate_file(path, test_ca.ca.certificate()).ok());
    CHECK(mode_of(path) == 0644);
    auto loaded = load_certificate_file(path);
    REQUIRE(loaded.ok());
    CHECK(X509_cmp(loaded->get(), test_ca.ca.certificate()) == 0);
    CHECK(to_pem(loaded->get()) == test_ca.ca.certificate_pem());
}
