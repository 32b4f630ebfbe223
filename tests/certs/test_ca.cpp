#include "certs/ca.hpp"
#include "certs/fingerprint.hpp"
#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "common/util/atomic_file.hpp"
#include "tests/certs/certs_fixture.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>

using namespace agentlb::certs;
using agentlb::certs::test::mode_of;
using agentlb::certs::test::TempDir;
using agentlb::util::read_file;
using agentlb::util::write_file_atomically;

TEST_CASE("create_ca writes a 0600 key and a certificate in a new 0700 folder") {
    TempDir temp;
    const auto dir = temp.path() / "nested" / "ca";
    auto created = create_ca(dir, "Test Root");
    INFO((created ? "" : created.error()));
    REQUIRE(created.ok());
    CHECK(mode_of(dir) == 0700);
    CHECK(mode_of(dir / "ca.key") == 0600);
    CHECK(mode_of(dir / "ca.crt") == 0644);
    // No temporary files are left beside them.
    CHECK(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) ==
          2);

    auto certificate = load_certificate_file(dir / "ca.crt");
    REQUIRE(certificate.ok());
    X509* ca = certificate->get();
    CHECK(common_name_of(ca) == "Test Root");
    CHECK(X509_check_ca(ca) == 1);
    CHECK(X509_check_issued(ca, ca) == X509_V_OK);
    CHECK((X509_get_extension_flags(ca) & EXFLAG_CRITICAL) == 0);  // no unknown critical extensions
    CHECK(X509_get_key_usage(ca) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
    CHECK(X509_get0_subject_key_id(ca) != nullptr);
    CHECK(EVP_PKEY_is_a(X509_get0_pubkey(ca), "EC") == 1);
    CHECK(EVP_PKEY_get_bits(X509_get0_pubkey(ca)) == 256);
    const auto lifetime = not_after_of(ca) - not_before_of(ca);
    CHECK(lifetime >= 3650LL * 86400);
    CHECK(lifetime <= 3650LL * 86400 + 600);
}

TEST_CASE("create_ca refuses to overwrite either file and names it") {
    TempDir temp;
    const auto dir = temp.path() / "ca";
    REQUIRE(create_ca(dir).ok());
    const auto key_before = read_file(dir / "ca.key");
    REQUIRE(key_before.ok());

    auto again = create_ca(dir);
    REQUIRE_FALSE(again.ok());
    CHECK_THAT(again.error(), Catch::Contains("ca.key") && Catch::Contains("already exists"));
    CHECK(*read_file(dir / "ca.key") == *key_before);

    std::filesystem::remove(dir / "ca.key");
    auto only_certificate = create_ca(dir);
    REQUIRE_FALSE(only_certificate.ok());
    CHECK_THAT(only_certificate.error(), Catch::Contains("ca.crt"));
    CHECK_FALSE(std::filesystem::exists(dir / "ca.key"));
}

TEST_CASE("create_ca refuses an empty common name before touching the disk") {
    TempDir temp;
    auto created = create_ca(temp.path() / "ca", "");
    REQUIRE_FALSE(created.ok());
    CHECK_THAT(created.error(), Catch::Contains("common name is empty"));
    CHECK_FALSE(std::filesystem::exists(temp.path() / "ca"));
}

TEST_CASE("create_ca refuses a path that is a file") {
    TempDir temp;
    const auto file = temp.path() / "plain";
    std::ofstream(file) << "x";
    auto created = create_ca(file);
    REQUIRE_FALSE(created.ok());
    CHECK_THAT(created.error(), Catch::Contains("not a folder"));
}

TEST_CASE("CertificateAuthority::load reads back the CA and its fingerprint") {
    TempDir temp;
    const auto dir = temp.path() / "ca";
    REQUIRE(create_ca(dir).ok());
    auto ca = CertificateAuthority::load(dir);
    REQUIRE(ca.ok());
    auto on_disk = read_file(dir / "ca.crt");
    REQUIRE(on_disk.ok());
    CHECK(ca->certificate_pem() == *on_disk);
    CHECK(ca->fingerprint() == *fingerprint_of_pem(*on_disk));

    auto again = CertificateAuthority::load(dir);
    REQUIRE(again.ok());
    CHECK(again->fingerprint() == ca->fingerprint());
}

TEST_CASE("CertificateAuthority::load names a missing file") {
    TempDir temp;
    auto missing = CertificateAuthority::load(temp.path());
    REQUIRE_FALSE(missing.ok());
    CHECK_THAT(missing.error(), Catch::Contains("ca.crt"));
}

TEST_CASE("CertificateAuthority::load refuses a key that belongs to another CA") {
    TempDir temp;
    REQUIRE(create_ca(temp.path() / "a").ok());
    REQUIRE(create_ca(temp.path() / "b").ok());
    std::filesystem::copy_file(temp.path() / "b" / "ca.key",
                               temp.path() / "a" / "ca.key",
                               std::filesystem::copy_options::overwrite_existing);
    auto mixed = CertificateAuthority::load(temp.path() / "a");
    REQUIRE_FALSE(mixed.ok());
    CHECK_THAT(mixed.error(), Catch::Contains("is not the private key of"));
}

TEST_CASE("CertificateAuthority::load refuses a leaf certificate as CA") {
    agentlb::certs::test::TestCa test_ca;
    TempDir temp;
    auto key = generate_p256_key();
    REQUIRE(key.ok());
    auto issued = test_ca.ca.issue(*make_csr_pem(key->get(), "kvm1"), agentlb::certs::test::agent_options());
    REQUIRE(issued.ok());
    REQUIRE(write_file_atomically(temp.path() / "ca.crt", issued->pem, 0644, Overwrite::refuse).ok());
    REQUIRE(save_private_key_file(temp.path() / "ca.key", key->get()).ok());
    auto loaded = CertificateAuthority::load(temp.path());
    REQUIRE_FALSE(loaded.ok());
    CHECK_THAT(loaded.error(), Catch::Contains("is not a CA certificate"));
}
