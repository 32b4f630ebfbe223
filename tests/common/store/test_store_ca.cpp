// The CAs the cluster trusts and CA rotation (schema v7): begin, finish
// (refused while certificates of the previous CA are in use), reissue
// requests. Both backends.

#include "common/store/store.hpp"
#include "tests/common/store/store_test_support.hpp"

#include <catch2/catch.hpp>

using namespace agentlb::store;
using namespace agentlb::store::test;

namespace {

constexpr const char* kOld = "sha256:01d";
constexpr const char* kNew = "sha256:0e1";

CaRotation rotation(std::string expected = kOld, std::string fingerprint = kNew) {
    return CaRotation{std::move(expected), "NEW PEM", std::move(fingerprint), "CROSS PEM", 50};
}

IssuedCertificate from(const std::string& serial, const std::string& issuer, std::int64_t not_after = 5000) {
    IssuedCertificate certificate{"pem", serial, not_after};
    certificate.issuer = issuer;
    return certificate;
}

}  // namespace

TEST_CASE_METHOD(StoreFixture, "the store's CA is the one trusted CA, active") {
    CHECK(store->trusted_cas().empty());
    store->put_ca_certificate("OLD PEM", kOld);
    const auto trusted = store->trusted_cas();
    REQUIRE(trusted.size() == 1);
    CHECK(trusted[0].fingerprint == kOld);
    CHECK(trusted[0].pem == "OLD PEM");
    CHECK(trusted[0].state == "active");
    CHECK(trusted[0].cross_pem.empty());
}

TEST_CASE_METHOD(StoreFixture, "a rotation makes the successor active and keeps the old CA as previous") {
    store->put_ca_certificate("OLD PEM", kOld);
    const std::int64_t g0 = store->generation();
    auto begun = store->begin_ca_rotation(rotation());
    INFO((begun ? "" : begun.error()));
    REQUIRE(begun.ok());
    CHECK(store->generation() > g0);
    CHECK(store->ca_certificate() == std::make_pair(std::string("NEW PEM"), std::string(kNew)));
    const auto trusted = store->trusted_cas();
    REQUIRE(trusted.size() == 2);
    CHECK(trusted[0].fingerprint == kNew);
    CHECK(trusted[0].state == "active");
    CHECK(trusted[0].cross_pem == "CROSS PEM");
    CHECK(trusted[0].created_at == 50);
    CHECK(trusted[1].fingerprint == kOld);
    CHECK(trusted[1].state == "previous");

    // Certificates recorded without an issuer now name the successor.
    const HostRecord h1 = enroll("h1");
    CHECK(store->certificates_of("h1").back().issuer == kNew);
    (void)h1;
}

TEST_CASE_METHOD(StoreFixture,
                 "a rotation is refused without a CA, from another CA, twice, or to a trusted CA") {
    auto none = store->begin_ca_rotation(rotation());
    REQUIRE_FALSE(none.ok());
    CHECK_THAT(none.error(), Catch::Contains("no CA to rotate"));

    store->put_ca_certificate("OLD PEM", kOld);
    auto elsewhere = store->begin_ca_rotation(rotation("sha256:ffff"));
    REQUIRE_FALSE(elsewhere.ok());
    CHECK_THAT(elsewhere.error(), Catch::Contains("not the store's active CA"));
    auto same = store->begin_ca_rotation(rotation(kOld, kOld));
    REQUIRE_FALSE(same.ok());
    CHECK_THAT(same.error(), Catch::Contains("already trusted"));

    REQUIRE(store->begin_ca_rotation(rotation()).ok());
    const std::int64_t g1 = store->generation();
    auto again = store->begin_ca_rotation(rotation(kNew, "sha256:0f3"));
    REQUIRE_FALSE(again.ok());
    CHECK_THAT(again.error(), Catch::Contains("already in progress") && Catch::Contains("--finish"));
    CHECK(store->generation() == g1);
    CHECK(store->trusted_cas().size() == 2);
}

TEST_CASE_METHOD(StoreFixture,
                 "finish is refused while a certificate of the previous CA is in use, listing it") {
    store->put_ca_certificate("OLD PEM", kOld);
    const HostRecord h1 = enroll("h1");  // h1-1 from the old CA (recorded without an issuer)
    const HostRecord h2 = enroll("h2");
    store->record_server_certificate("ms1", from("srv-old", kOld));
    REQUIRE(store->begin_ca_rotation(rotation()).ok());

    auto refused = store->finish_ca_rotation(100);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error(),
               Catch::Contains("3 certificates in use") && Catch::Contains("h1 (agent, serial h1-1") &&
                   Catch::Contains("ms1 (server, serial srv-old") && Catch::Contains("--reissue-all"));
    CHECK(store->trusted_cas().size() == 2);

    // Renewed from the new CA (supersedes), revoked, or expired: no longer in use.
    store->record_certificate(h1.id, from("h1-new", kNew));
    REQUIRE(store->revoke_certificate("h2-2", 100).ok());
    store->record_server_certificate("ms1", from("srv-new", kNew));
    auto finished = store->finish_ca_rotation(100);
    INFO((finished ? "" : finished.error()));
    REQUIRE(finished.ok());
    CHECK(finished->fingerprint == kOld);
    const auto trusted = store->trusted_cas();
    REQUIRE(trusted.size() == 1);
    CHECK(trusted[0].fingerprint == kNew);
    CHECK(store->ca_certificate()->second == kNew);

    auto twice = store->finish_ca_rotation(100);
    REQUIRE_FALSE(twice.ok());
    CHECK_THAT(twice.error(), Catch::Contains("no CA rotation in progress"));
    // A next rotation may begin from the successor.
    CHECK(store->begin_ca_rotation(rotation(kNew, "sha256:0f3")).ok());
}

TEST_CASE_METHOD(StoreFixture, "finish names 20 of the blocking certificates and counts the rest") {
    store->put_ca_certificate("OLD PEM", kOld);
    for (int i = 0; i < 23; ++i) {
        enroll("h" + std::to_string(i));
    }
    REQUIRE(store->begin_ca_rotation(rotation()).ok());
    auto refused = store->finish_ca_rotation(100);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error(),
               Catch::Contains("23 certificates in use") && Catch::Contains("h19 (agent") &&
                   !Catch::Contains("h20 (agent") && Catch::Contains("and 3 more"));

    // Expired certificates do not block (CountingIssuer's end around 1000).
    CHECK(store->finish_ca_rotation(2000).ok());
}

TEST_CASE_METHOD(StoreFixture, "reissue requests need a rotation in progress and a positive rate") {
    store->put_ca_certificate("OLD PEM", kOld);
    auto early = store->request_reissue(10, 60);
    REQUIRE_FALSE(early.ok());
    CHECK_THAT(early.error(), Catch::Contains("no CA rotation in progress"));
    CHECK(store->last_reissue_id() == 0);

    REQUIRE(store->begin_ca_rotation(rotation()).ok());
    auto zero = store->request_reissue(0, 60);
    REQUIRE_FALSE(zero.ok());
    CHECK_THAT(zero.error(), Catch::Contains("at least 1"));

    const std::int64_t g0 = store->generation();
    auto first = store->request_reissue(10, 60);
    REQUIRE(first.ok());
    auto second = store->request_reissue(3, 61);
    REQUIRE(second.ok());
    CHECK(*second > *first);
    CHECK(store->generation() > g0);
    CHECK(store->last_reissue_id() == *second);
    const auto after = store->reissue_requests_after(*first);
    REQUIRE(after.size() == 1);
    CHECK(after[0].id == *second);
    CHECK(after[0].rate == 3);
    CHECK(after[0].requested_at == 61);
    CHECK(store->reissue_requests_after(0).size() == 2);
}

TEST_CASE_METHOD(StoreFixture, "setting the CA again (a copy, a fresh init) leaves it the only trusted CA") {
    store->put_ca_certificate("OLD PEM", kOld);
    REQUIRE(store->begin_ca_rotation(rotation()).ok());
    store->put_ca_certificate("OTHER PEM", "sha256:0a");
    const auto trusted = store->trusted_cas();
    REQUIRE(trusted.size() == 1);
    CHECK(trusted[0].fingerprint == "sha256:0a");
}
