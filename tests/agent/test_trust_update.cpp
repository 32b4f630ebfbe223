// apply_trust: what a `trust` message may change in the agent's CA bundle
// (agent/trust_update.hpp).

#include "agent/trust_update.hpp"
#include "certs/fingerprint.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "certs/rotation.hpp"
#include "common/util/clock.hpp"
#include "tests/certs/certs_fixture.hpp"

#include <catch2/catch.hpp>

using namespace agentlb;
using namespace agentlb::agent;
using certs::test::ca_key;
using certs::test::TestCa;
using util::unix_now;

namespace {

struct Rotated {
    std::string root;   // the successor, self-signed
    std::string cross;  // signed by the old CA's key
};

Rotated rotate(const TestCa& old) {
    auto key = ca_key(old);
    auto fresh = certs::generate_p256_key();
    REQUIRE(fresh.ok());
    auto successor = certs::make_successor_ca(old.ca.certificate(), key.get(), std::move(fresh).value());
    REQUIRE(successor.ok());
    return {certs::to_pem(successor->certificate.get()), certs::to_pem(successor->cross.get())};
}

std::string fingerprint(const std::string& pem) {
    auto fp = certs::fingerprint_of_pem(pem);
    REQUIRE(fp.ok());
    return *fp;
}

}  // namespace

TEST_CASE("trust: a CA the agent already trusts vouches for the successor's cross certificate and its twin") {
    TestCa old;
    const Rotated next = rotate(old);
    const std::string current = old.ca.certificate_pem();
    auto update = apply_trust(current, wire::Trust{{current, next.root, next.cross}}, unix_now());
    REQUIRE(update.ok());
    CHECK(update->changed);
    CHECK(update->refused.empty());
    CHECK(update->dropped.empty());
    CHECK(update->added.size() == 2);
    CHECK(update->bundle_pem == current + next.root + next.cross);
    CHECK(update->trusts ==
          std::vector<std::string>{fingerprint(current), fingerprint(next.root), fingerprint(next.cross)});
    // The same message again changes nothing.
    auto again = apply_trust(update->bundle_pem, wire::Trust{{current, next.root, next.cross}}, unix_now());
    REQUIRE(again.ok());
    CHECK_FALSE(again->changed);
    CHECK(again->bundle_pem == update->bundle_pem);
}

TEST_CASE("trust: a CA no trusted CA vouches for is refused and nothing is dropped") {
    TestCa old;
    TestCa unrelated;  // same name "agentlb CA", another key
    const std::string current = old.ca.certificate_pem();

    SECTION("an unrelated CA alone") {
        auto update = apply_trust(current, wire::Trust{{unrelated.ca.certificate_pem()}}, unix_now());
        REQUIRE(update.ok());
        CHECK_FALSE(update->changed);
        CHECK(update->bundle_pem == current);
        REQUIRE(update->refused.size() == 1);
        CHECK_THAT(update->refused[0],
                   Catch::Contains(fingerprint(unrelated.ca.certificate_pem())) &&
                       Catch::Contains("no CA we trust vouches for it"));
        CHECK(update->dropped.empty());
    }
    SECTION("the successor's self-signed root without its cross certificate") {
        const Rotated next = rotate(old);
        auto update = apply_trust(current, wire::Trust{{next.root}}, unix_now());
        REQUIRE(update.ok());
        CHECK_FALSE(update->changed);
        CHECK(update->refused.size() == 1);
    }
    SECTION("an unrelated CA's rotation, cross and twin: its cross is vouched by a CA we do not hold") {
        const Rotated theirs = rotate(unrelated);
        auto update = apply_trust(current, wire::Trust{{theirs.root, theirs.cross}}, unix_now());
        REQUIRE(update.ok());
        CHECK_FALSE(update->changed);
        CHECK(update->refused.size() == 2);
    }
    SECTION("text that is not a certificate") {
        auto update = apply_trust(current, wire::Trust{{"not a certificate"}}, unix_now());
        REQUIRE(update.ok());
        CHECK_FALSE(update->changed);
        REQUIRE(update->refused.size() == 1);
        CHECK_THAT(update->refused[0], Catch::StartsWith("certificate 1:"));
    }
}

TEST_CASE("trust: CAs not listed are dropped once a listed one was accepted") {
    TestCa old;
    const Rotated next = rotate(old);
    const std::string during = old.ca.certificate_pem() + next.root + next.cross;

    // After `ca rotate --finish`: only the successor is listed.
    auto update = apply_trust(during, wire::Trust{{next.root}}, unix_now());
    REQUIRE(update.ok());
    CHECK(update->changed);
    CHECK(update->bundle_pem == next.root);
    CHECK(update->dropped.size() == 2);
    CHECK(update->added.empty());
    CHECK(update->trusts == std::vector<std::string>{fingerprint(next.root)});

    // A message of strangers after that drops nothing.
    TestCa unrelated;
    auto strangers = apply_trust(next.root, wire::Trust{{unrelated.ca.certificate_pem()}}, unix_now());
    REQUIRE(strangers.ok());
    CHECK_FALSE(strangers->changed);
    CHECK(strangers->bundle_pem == next.root);
}

TEST_CASE("trust: an agent holding only the new CA skips the old one and the cross certificate quietly") {
    TestCa old;
    const Rotated next = rotate(old);
    // Enrolled during the rotation: it holds the new CA alone.
    auto update =
        apply_trust(next.root, wire::Trust{{next.root, old.ca.certificate_pem(), next.cross}}, unix_now());
    REQUIRE(update.ok());
    CHECK_FALSE(update->changed);
    CHECK(update->bundle_pem == next.root);
    CHECK(update->refused.empty());
    CHECK(update->skipped.size() == 2);
    // An unrelated CA listed beside them is still refused.
    TestCa unrelated;
    auto mixed = apply_trust(
        next.root,
        wire::Trust{{next.root, old.ca.certificate_pem(), next.cross, unrelated.ca.certificate_pem()}},
        unix_now());
    REQUIRE(mixed.ok());
    CHECK(mixed->refused.size() == 1);
    CHECK(mixed->skipped.size() == 2);
}

TEST_CASE("trust: a damaged CA file is reported, not replaced") {
    auto update = apply_trust("garbage", wire::Trust{{"x"}}, unix_now());
    CHECK_FALSE(update.ok());
}
