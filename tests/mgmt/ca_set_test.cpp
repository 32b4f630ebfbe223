// make_ca_view and CaSet: what a server trusts, sends and issues from during
// a CA rotation (mgmt/ca_set.hpp).

#include "mgmt/ca_set.hpp"

#include "certs/fingerprint.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "certs/rotation.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

using namespace agentlb;
using namespace agentlb::mgmt;
namespace fs = std::filesystem;

namespace {

// A CA folder, rotated on demand as agentlbctl ca rotate does.
struct Rotation {
    test::TempDir dir;
    fs::path ca_dir = dir.path() / "ca";
    std::shared_ptr<const certs::CertificateAuthority> old_ca;
    certs::PreparedRotation prepared;

    Rotation() {
        REQUIRE(certs::create_ca(ca_dir).ok());
        auto loaded = certs::CertificateAuthority::load(ca_dir);
        REQUIRE(loaded.ok());
        old_ca = std::make_shared<const certs::CertificateAuthority>(std::move(loaded).value());
    }

    void rotate_files() {
        auto key = certs::generate_p256_key();
        REQUIRE(key.ok());
        auto made = certs::prepare_ca_rotation(ca_dir, std::move(key).value());
        REQUIRE(made.ok());
        prepared = *made;
        REQUIRE(certs::complete_ca_rotation_files(ca_dir).ok());
    }

    std::vector<store::TrustedCa> before() const {
        return {store::TrustedCa{old_ca->fingerprint(), old_ca->certificate_pem(), "", "active", 0}};
    }
    std::vector<store::TrustedCa> during() const {
        return {store::TrustedCa{prepared.fingerprint, prepared.pem, prepared.cross_pem, "active", 5},
                store::TrustedCa{old_ca->fingerprint(), old_ca->certificate_pem(), "", "previous", 0}};
    }
    std::vector<store::TrustedCa> after() const {
        return {store::TrustedCa{prepared.fingerprint, prepared.pem, prepared.cross_pem, "active", 5}};
    }
};

}  // namespace

TEST_CASE("before a rotation the server trusts and sends its CA alone") {
    Rotation r;
    auto view = make_ca_view(r.old_ca, r.before());
    REQUIRE(view.ok());
    CHECK(view->trust_pem == r.old_ca->certificate_pem());
    CHECK(view->chain_pem.empty());
    CHECK(view->answer_ca_pem == r.old_ca->certificate_pem());
    CHECK(view->trust_fingerprints == std::vector<std::string>{r.old_ca->fingerprint()});
    CHECK_FALSE(view->previous_fingerprint);
    CHECK_FALSE(view->issuer_outdated);
}

TEST_CASE("during a rotation the server trusts both CAs, sends the cross certificate, and lists all three") {
    Rotation r;
    CaSet set(std::make_shared<const CaView>(*make_ca_view(r.old_ca, r.before())));
    r.rotate_files();

    auto change = set.update(r.during(), r.ca_dir);
    REQUIRE(change.ok());
    CHECK(change->issuer_changed);
    CHECK(change->trust_changed);
    const auto view = set.view();
    CHECK(view->issuer_fingerprint == r.prepared.fingerprint);
    CHECK(view->trust_pem == r.prepared.pem + r.old_ca->certificate_pem());
    CHECK(view->chain_pem == r.prepared.cross_pem);
    CHECK(view->answer_ca_pem == r.prepared.cross_pem);
    CHECK(view->trust_cas ==
          std::vector<std::string>{r.prepared.pem, r.old_ca->certificate_pem(), r.prepared.cross_pem});
    CHECK(view->trust_fingerprints.size() == 3);
    CHECK(std::is_sorted(view->trust_fingerprints.begin(), view->trust_fingerprints.end()));
    CHECK(view->previous_fingerprint == std::optional<std::string>(r.old_ca->fingerprint()));
    CHECK(view->previous_key_id == subject_key_id_of(r.old_ca->certificate()));
    CHECK_FALSE(view->previous_key_id.empty());

    // The same trusted set again changes nothing.
    auto again = set.update(r.during(), r.ca_dir);
    REQUIRE(again.ok());
    CHECK_FALSE(again->issuer_changed);
    CHECK_FALSE(again->trust_changed);

    // Finished: the new CA alone, no chain.
    auto finished = set.update(r.after(), r.ca_dir);
    REQUIRE(finished.ok());
    CHECK(finished->trust_changed);
    CHECK(set.view()->chain_pem.empty());
    CHECK(set.view()->trust_cas == std::vector<std::string>{r.prepared.pem});
}

TEST_CASE(
    "a server whose CA folder still holds the previous CA issues from it, sends no chain, and says so") {
    Rotation r;
    CaSet set(std::make_shared<const CaView>(*make_ca_view(r.old_ca, r.before())));
    test::TempDir other;
    const fs::path stale = other.path() / "ca";
    fs::create_directories(stale);
    fs::copy(r.ca_dir / "ca.key", stale / "ca.key");
    fs::copy(r.ca_dir / "ca.crt", stale / "ca.crt");
    r.rotate_files();

    auto change = set.update(r.during(), stale);
    REQUIRE(change.ok());
    CHECK_FALSE(change->issuer_changed);
    const auto view = set.view();
    CHECK(view->issuer_outdated);
    CHECK(view->issuer_fingerprint == r.old_ca->fingerprint());
    CHECK(view->chain_pem.empty());
    CHECK(view->answer_ca_pem == r.old_ca->certificate_pem());

    // Once the rotation is finished, its CA is no longer trusted: refused, the view kept.
    auto refused = set.update(r.after(), stale);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error(), Catch::Contains("not one the store trusts"));
    CHECK(set.view()->issuer_fingerprint == r.old_ca->fingerprint());
}
