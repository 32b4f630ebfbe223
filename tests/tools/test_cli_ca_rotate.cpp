// agentlbctl ca rotate, --reissue-all, --finish, run as a process.

#include "certs/ca.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "certs/rotation.hpp"
#include "certs/verify.hpp"
#include "common/util/clock.hpp"
#include "tests/tools/ctl_fixture.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <filesystem>
#include <sys/stat.h>

using namespace agentlb;
using namespace agentlb::test;
namespace fs = std::filesystem;

namespace {

std::string initialised_ca(const CtlFixture& f) {
    const auto init = f.ctl_json({"ca", "init", "--ca-dir", (f.dir / "ca").string()});
    return init.at("ca_fingerprint").get<std::string>();
}

::mode_t mode_of(const fs::path& path) {
    struct ::stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 0777;
}

}  // namespace

TEST_CASE(
    "ca rotate makes a cross-signed successor, keeps the old CA as previous, and the store trusts both") {
    CtlFixture f;
    const std::string old_fingerprint = initialised_ca(f);
    const fs::path ca_dir = f.dir / "ca";
    auto old_ca = certs::CertificateAuthority::load(ca_dir);
    REQUIRE(old_ca.ok());

    const auto rotated = f.ctl_json({"ca", "rotate", "--ca-dir", ca_dir.string()});
    const std::string new_fingerprint = rotated.at("ca_fingerprint").get<std::string>();
    CHECK(rotated.at("previous_ca_fingerprint") == old_fingerprint);
    CHECK(new_fingerprint != old_fingerprint);

    auto new_ca = certs::CertificateAuthority::load(ca_dir);
    REQUIRE(new_ca.ok());
    CHECK(new_ca->fingerprint() == new_fingerprint);
    CHECK(mode_of(ca_dir / "ca.key") == 0600);
    CHECK(mode_of(ca_dir / "ca.previous.key") == 0600);
    auto previous_certificate = certs::load_certificate_file(ca_dir / "ca.previous.crt");
    REQUIRE(previous_certificate.ok());
    CHECK(X509_cmp(previous_certificate->get(), old_ca->certificate()) == 0);
    CHECK_FALSE(fs::exists(ca_dir / "ca.next.key"));
    CHECK_FALSE(fs::exists(ca_dir / "ca.next.crt"));

    auto store = f.open();
    CHECK(store->ca_certificate()->second == new_fingerprint);
    const auto trusted = store->trusted_cas();
    REQUIRE(trusted.size() == 2);
    CHECK(trusted[0].fingerprint == new_fingerprint);
    CHECK(trusted[1].fingerprint == old_fingerprint);
    CHECK(trusted[1].state == "previous");
    // The cross certificate: the new key, vouched for by the old CA.
    auto cross = certs::parse_certificate_pem(trusted[0].cross_pem);
    REQUIRE(cross.ok());
    CHECK(certs::check_vouched_ca(old_ca->certificate(), cross->get(), util::unix_now()).ok());
    CHECK(certs::same_subject_and_key(cross->get(), new_ca->certificate()));
    CHECK(f.ctl_json({"ca", "show"}).at("ca_fingerprint") == new_fingerprint);
}

TEST_CASE("ca rotate is refused during a rotation, from another CA's folder, and without --ca-dir") {
    CtlFixture f;
    initialised_ca(f);
    const fs::path ca_dir = f.dir / "ca";

    const auto no_dir = f.ctl({"ca", "rotate"});
    CHECK(no_dir.exit_code == 2);
    CHECK_THAT(no_dir.err, Catch::Contains("--ca-dir DIR is required"));

    REQUIRE(certs::create_ca(f.dir / "other").ok());
    const auto other = f.ctl({"ca", "rotate", "--ca-dir", (f.dir / "other").string()});
    CHECK(other.exit_code == 2);
    CHECK_THAT(other.err, Catch::Contains("is not the store's active CA"));
    CHECK_FALSE(fs::exists(f.dir / "other" / "ca.previous.key"));

    REQUIRE(f.ctl({"ca", "rotate", "--ca-dir", ca_dir.string()}).exit_code == 0);
    const std::string after_first = f.open()->ca_certificate()->second;
    const auto twice = f.ctl({"ca", "rotate", "--ca-dir", ca_dir.string()});
    CHECK(twice.exit_code == 2);
    CHECK_THAT(twice.err, Catch::Contains("already in progress") && Catch::Contains("--finish"));
    CHECK(f.open()->ca_certificate()->second == after_first);

    const auto both = f.ctl({"ca", "rotate", "--reissue-all", "--finish"});
    CHECK(both.exit_code == 2);
    const auto stray_rate = f.ctl({"ca", "rotate", "--rate", "5", "--ca-dir", ca_dir.string()});
    CHECK(stray_rate.exit_code == 2);
    CHECK_THAT(stray_rate.err, Catch::Contains("--rate goes with --reissue-all"));
}

TEST_CASE("ca rotate completes a rotation the store recorded but whose files were not moved") {
    CtlFixture f;
    initialised_ca(f);
    const fs::path ca_dir = f.dir / "ca";
    // What a crash right after the store's commit leaves: ca.next.* beside the old pair.
    auto key = certs::generate_p256_key();
    REQUIRE(key.ok());
    auto prepared = certs::prepare_ca_rotation(ca_dir, std::move(key).value());
    REQUIRE(prepared.ok());
    REQUIRE(f.open()
                ->begin_ca_rotation(store::CaRotation{
                    prepared->old_fingerprint, prepared->pem, prepared->fingerprint, prepared->cross_pem, 1})
                .ok());

    const auto resumed = f.ctl({"ca", "rotate", "--ca-dir", ca_dir.string()});
    INFO(resumed.err);
    REQUIRE(resumed.exit_code == 0);
    CHECK_THAT(resumed.out, Catch::StartsWith("completed the interrupted rotation"));
    auto loaded = certs::CertificateAuthority::load(ca_dir);
    REQUIRE(loaded.ok());
    CHECK(loaded->fingerprint() == prepared->fingerprint);
    CHECK(fs::exists(ca_dir / "ca.previous.key"));
}

TEST_CASE("ca rotate --reissue-all records a request at the rate given, refused without a rotation") {
    CtlFixture f;
    initialised_ca(f);
    const auto early = f.ctl({"ca", "rotate", "--reissue-all"});
    CHECK(early.exit_code == 2);
    CHECK_THAT(early.err, Catch::Contains("no CA rotation in progress"));

    REQUIRE(f.ctl({"ca", "rotate", "--ca-dir", (f.dir / "ca").string()}).exit_code == 0);
    const auto bad_rate = f.ctl({"ca", "rotate", "--reissue-all", "--rate", "0"});
    CHECK(bad_rate.exit_code == 2);
    CHECK_THAT(bad_rate.err, Catch::Contains("--rate"));

    const auto requested = f.ctl_json({"ca", "rotate", "--reissue-all", "--rate", "7"});
    CHECK(requested.at("rate") == 7);
    const auto requests = f.open()->reissue_requests_after(0);
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].id == requested.at("reissue").get<std::int64_t>());
    CHECK(requests[0].rate == 7);
    const auto text = f.ctl({"ca", "rotate", "--reissue-all"});
    CHECK(text.exit_code == 0);
    CHECK_THAT(text.out, Catch::Contains("10 a second"));
}

TEST_CASE("ca rotate --finish is refused, listing them, while certificates of the previous CA are in use") {
    CtlFixture f;
    const std::string old_fingerprint = initialised_ca(f);
    const fs::path ca_dir = f.dir / "ca";
    const std::int64_t h1 = f.enrol("h1");  // recorded from the old CA
    REQUIRE(f.ctl({"ca", "rotate", "--ca-dir", ca_dir.string()}).exit_code == 0);

    const auto refused = f.ctl({"ca", "rotate", "--finish", "--ca-dir", ca_dir.string()});
    CHECK(refused.exit_code == 1);
    CHECK_THAT(refused.err,
               Catch::Contains("1 certificate in use") && Catch::Contains("h1 (agent, serial serial-h1"));
    CHECK(fs::exists(ca_dir / "ca.previous.key"));
    CHECK(f.open()->trusted_cas().size() == 2);

    // h1 renewed from the new CA.
    store::IssuedCertificate renewed{"pem", "serial-h1-new", util::unix_now() + 86400};
    f.open()->record_certificate(h1, renewed);
    const auto finished = f.ctl_json({"ca", "rotate", "--finish", "--ca-dir", ca_dir.string()});
    CHECK(finished.at("removed_ca_fingerprint") == old_fingerprint);
    CHECK_FALSE(fs::exists(ca_dir / "ca.previous.key"));
    CHECK_FALSE(fs::exists(ca_dir / "ca.previous.crt"));
    CHECK(f.open()->trusted_cas().size() == 1);
    CHECK(certs::CertificateAuthority::load(ca_dir).ok());
}

TEST_CASE("ca rotate makes the new CA key of the type agentlb.ca.key.type names") {
    CtlFixture f;
    initialised_ca(f);
    REQUIRE(f.ctl({"config", "set", "agentlb.ca.key.type", "p384"}).exit_code == 0);
    REQUIRE(f.ctl({"ca", "rotate", "--ca-dir", (f.dir / "ca").string()}).exit_code == 0);
    auto key = certs::load_private_key_file(f.dir / "ca" / "ca.key");
    REQUIRE(key.ok());
    CHECK(EVP_PKEY_get_bits(key->get()) == 384);
    CHECK(certs::CertificateAuthority::load(f.dir / "ca").ok());
}
