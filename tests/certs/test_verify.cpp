#include "certs/inspect.hpp"
#include "certs/verify.hpp"
#include "common/util/clock.hpp"
#include "tests/certs/certs_fixture.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <chrono>

using namespace agentlb::certs;
using agentlb::certs::test::agent_options;
using agentlb::certs::test::ca_key;
using agentlb::certs::test::issue_parsed;
using agentlb::certs::test::resigned;
using agentlb::certs::test::server_options;
using agentlb::certs::test::TestCa;
using agentlb::util::unix_now;

TEST_CASE("verify accepts an agent certificate from our CA") {
    TestCa test_ca;
    X509Ptr leaf = issue_parsed(test_ca.ca, agent_options());
    RevocationList revoked;
    revoked.replace({"1234"});
    auto verified = verify_certificate(leaf.get(), test_ca.ca.certificate_pem(), unix_now(), &revoked);
    INFO((verified ? "" : verified.error()));
    CHECK(verified.ok());
}

TEST_CASE("verify accepts a server certificate as a server and refuses it as an agent") {
    TestCa test_ca;
    X509Ptr leaf = issue_parsed(test_ca.ca, server_options());
    auto as_server = verify_certificate(
        leaf.get(), test_ca.ca.certificate_pem(), unix_now(), nullptr, CertificateKind::server);
    INFO((as_server ? "" : as_server.error()));
    CHECK(as_server.ok());
    auto as_agent = verify_certificate(leaf.get(), test_ca.ca.certificate_pem(), unix_now());
    REQUIRE_FALSE(as_agent.ok());
    CHECK_THAT(as_agent.error(), Catch::Contains("server certificate, not an agent certificate"));
}

TEST_CASE("verify refuses an agent certificate as a server") {
    TestCa test_ca;
    X509Ptr leaf = issue_parsed(test_ca.ca, agent_options());
    auto verified = verify_certificate(
        leaf.get(), test_ca.ca.certificate_pem(), unix_now(), nullptr, CertificateKind::server);
    REQUIRE_FALSE(verified.ok());
    CHECK_THAT(verified.error(), Catch::Contains("not valid for server authentication"));
}

TEST_CASE("verify refuses a certificate from another CA with the same name") {
    TestCa ours;
    TestCa theirs;  // same CN "agentlb CA": only the key tells them apart
    X509Ptr leaf = issue_parsed(theirs.ca, agent_options());
    auto verified = verify_certificate(leaf.get(), ours.ca.certificate_pem(), unix_now());
    REQUIRE_FALSE(verified.ok());
    CHECK_THAT(verified.error(), Catch::StartsWith("certificate not issued by this CA"));
}

TEST_CASE("verify refuses the CA certificate itself as a peer") {
    TestCa test_ca;
    auto verified = verify_certificate(test_ca.ca.certificate(), test_ca.ca.certificate_pem(), unix_now());
    REQUIRE_FALSE(verified.ok());
}

TEST_CASE("verify refuses an expired certificate and says when it expired") {
    TestCa test_ca;
    auto options = agent_options();
    const auto expiry = std::chrono::system_clock::from_time_t(1'700'000'000);  // 2023-11-14T22:13:20Z
    options.not_before_override = expiry - std::chrono::hours(24 * 365);
    options.not_after_override = expiry;
    X509Ptr leaf = issue_parsed(test_ca.ca, options);
    auto verified = verify_certificate(leaf.get(), test_ca.ca.certificate_pem(), unix_now());
    REQUIRE_FALSE(verified.ok());
    CHECK(verified.error() == "certificate expired on 2023-11-14T22:13:20Z");
}

TEST_CASE("verify judges validity at the caller's time, not the clock") {
    TestCa test_ca;
    auto options = agent_options();
    const auto now = std::chrono::system_clock::now();
    options.not_before_override = now - std::chrono::minutes(1);
    options.not_after_override = now + std::chrono::hours(1);
    X509Ptr leaf = issue_parsed(test_ca.ca, options);
    CHECK(verify_certificate(leaf.get(), test_ca.ca.certificate_pem(), unix_now()).ok());
    auto later = verify_certificate(leaf.get(), test_ca.ca.certificate_pem(), unix_now() + 2 * 3600);
    REQUIRE_FALSE(later.ok());
    CHECK_THAT(later.error(), Catch::StartsWith("certificate expired on"));
}

TEST_CASE("verify refuses a certificate that is not valid yet") {
    TestCa test_ca;
    auto options = agent_options();
    options.not_before_override = std::chrono::system_clock::now() + std::chrono::hours(24);
    X509Ptr leaf = issue_parsed(test_ca.ca, options);
    auto verified = verify_certificate(leaf.get(), test_ca.ca.certificate_pem(), unix_now());
    REQUIRE_FALSE(verified.ok());
    CHECK_THAT(verified.error(), Catch::StartsWith("certificate is not valid before"));
}

TEST_CASE("verify refuses a revoked certificate and names its serial") {
    TestCa test_ca;
    X509Ptr leaf = issue_parsed(test_ca.ca, agent_options());
    const std::string serial = serial_of(leaf.get());
    RevocationList revoked;
    revoked.replace({"abcdef", serial});
    auto verified = verify_certificate(leaf.get(), test_ca.ca.certificate_pem(), unix_now(), &revoked);
    REQUIRE_FALSE(verified.ok());
    CHECK(verified.error() == "certificate revoked (serial " + serial + ")");

    revoked.replace({});
    CHECK(verify_certificate(leaf.get(), test_ca.ca.certificate_pem(), unix_now(), &revoked).ok());
}

TEST_CASE("make_ca_store refuses text that is not a CA certificate") {
    auto garbage = make_ca_store("not pem");
    REQUIRE_FALSE(garbage.ok());
    CHECK_THAT(garbage.error(), Catch::Contains("CA"));

    TestCa test_ca;
    X509Ptr leaf = issue_parsed(test_ca.ca, agent_options());
    auto leaf_as_ca = make_ca_store(to_pem(leaf.get()));
    REQUIRE_FALSE(leaf_as_ca.ok());
    CHECK_THAT(leaf_as_ca.error(), Catch::Contains("is not a CA certificate"));
}

TEST_CASE("a store from make_ca_store verifies many certificates") {
    TestCa test_ca;
    auto store = make_ca_store(test_ca.ca.certificate_pem());
    REQUIRE(store.ok());
    X509Ptr first = issue_parsed(test_ca.ca, agent_options("kvm1"));
    X509Ptr second = issue_parsed(test_ca.ca, agent_options("kvm2"));
    CHECK(verify_certificate(first.get(), store->get(), unix_now()).ok());
    CHECK(verify_certificate(second.get(), store->get(), unix_now()).ok());
}

TEST_CASE("a store from a bundle of two CAs verifies leaves from each and no other") {
    TestCa first_ca;
    TestCa second_ca;
    TestCa stranger;
    const std::string bundle = first_ca.ca.certificate_pem() + "\n" + second_ca.ca.certificate_pem();
    auto store = make_ca_store(bundle);
    REQUIRE(store.ok());
    X509Ptr from_first = issue_parsed(first_ca.ca, agent_options("kvm1"));
    X509Ptr from_second = issue_parsed(second_ca.ca, agent_options("kvm2"));
    X509Ptr from_stranger = issue_parsed(stranger.ca, agent_options("kvm3"));
    CHECK(verify_certificate(from_first.get(), store->get(), unix_now()).ok());
    CHECK(verify_certificate(from_second.get(), store->get(), unix_now()).ok());
    auto refused = verify_certificate(from_stranger.get(), store->get(), unix_now());
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error(), Catch::StartsWith("certificate not issued by this CA"));
}

TEST_CASE("a CA bundle with a damaged or non-CA member is refused, naming it") {
    TestCa test_ca;
    X509Ptr leaf = issue_parsed(test_ca.ca, agent_options("kvm9"));
    auto with_leaf = make_ca_store(test_ca.ca.certificate_pem() + to_pem(leaf.get()));
    REQUIRE_FALSE(with_leaf.ok());
    CHECK_THAT(with_leaf.error(), Catch::Contains("(kvm9) is not a CA certificate"));
    std::string damaged = test_ca.ca.certificate_pem() +
                          "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
    auto broken = make_ca_store(damaged);
    REQUIRE_FALSE(broken.ok());
    CHECK_THAT(broken.error(), Catch::Contains("certificate 2 of the bundle"));
}

TEST_CASE("check_leaf applies kind and revocation without the chain") {
    TestCa test_ca;
    X509Ptr agent = issue_parsed(test_ca.ca, agent_options());
    X509Ptr server = issue_parsed(test_ca.ca, server_options());
    RevocationList revoked;
    CHECK(check_leaf(agent.get(), &revoked, CertificateKind::agent).ok());
    CHECK(check_leaf(server.get(), &revoked, CertificateKind::server).ok());
    CHECK_FALSE(check_leaf(server.get(), &revoked, CertificateKind::agent).ok());
    CHECK_FALSE(check_leaf(test_ca.ca.certificate(), nullptr, CertificateKind::agent).ok());
    revoked.add(serial_of(agent.get()));
    auto refused = check_leaf(agent.get(), &revoked, CertificateKind::agent);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error(), Catch::StartsWith("certificate revoked"));
}

TEST_CASE("is_foreign_issuer_error: an unknown or self-signed issuer, not an expiry") {
    CHECK(is_foreign_issuer_error(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY));
    CHECK(is_foreign_issuer_error(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT));
    CHECK(is_foreign_issuer_error(X509_V_ERR_CERT_SIGNATURE_FAILURE));
    CHECK_FALSE(is_foreign_issuer_error(X509_V_OK));
    CHECK_FALSE(is_foreign_issuer_error(X509_V_ERR_CERT_HAS_EXPIRED));
}

TEST_CASE("the pinned CA vouches for its own re-issue and for a successor it signed") {
    TestCa pinned;
    const auto key = ca_key(pinned);
    const std::int64_t now = unix_now();

    SECTION("the same CA with a later expiry") {
        auto renewed = resigned(
            pinned.ca.certificate(), pinned.ca.certificate(), key.get(), now - 60, now + 86400 * 7300);
        auto vouched = check_vouched_ca(pinned.ca.certificate(), renewed.get(), now);
        INFO((vouched ? "" : vouched.error()));
        CHECK(vouched.ok());
    }
    SECTION("a new CA key cross-signed by the pinned one, usable as the only trust anchor") {
        TestCa next("agentlb CA 2");
        auto successor =
            resigned(next.ca.certificate(), pinned.ca.certificate(), key.get(), now - 60, now + 86400);
        auto vouched = check_vouched_ca(pinned.ca.certificate(), successor.get(), now);
        INFO((vouched ? "" : vouched.error()));
        CHECK(vouched.ok());
        X509Ptr leaf = issue_parsed(next.ca, agent_options());
        auto verified = verify_certificate(leaf.get(), to_pem(successor.get()), now);
        INFO((verified ? "" : verified.error()));
        CHECK(verified.ok());
        // The old CA's certificates are not covered by the successor.
        X509Ptr old_leaf = issue_parsed(pinned.ca, agent_options());
        CHECK_FALSE(verify_certificate(old_leaf.get(), to_pem(successor.get()), now).ok());
    }
}

TEST_CASE("the pinned CA does not vouch for another CA, a leaf, or an expired successor") {
    TestCa pinned;
    const std::int64_t now = unix_now();
    SECTION("another CA with the same name") {
        TestCa other;
        auto vouched = check_vouched_ca(pinned.ca.certificate(), other.ca.certificate(), now);
        REQUIRE_FALSE(vouched.ok());
        CHECK_THAT(vouched.error(), Catch::Contains("signature does not verify"));
    }
    SECTION("another CA naming the pinned one as issuer, signed by its own key") {
        TestCa other;
        const auto other_key = ca_key(other);
        auto forged =
            resigned(other.ca.certificate(), pinned.ca.certificate(), other_key.get(), now - 60, now + 86400);
        auto vouched = check_vouched_ca(pinned.ca.certificate(), forged.get(), now);
        REQUIRE_FALSE(vouched.ok());
        CHECK_THAT(vouched.error(), Catch::Contains("signature does not verify"));
    }
    SECTION("a certificate the pinned CA issued that is not a CA") {
        X509Ptr leaf = issue_parsed(pinned.ca, agent_options());
        auto vouched = check_vouched_ca(pinned.ca.certificate(), leaf.get(), now);
        REQUIRE_FALSE(vouched.ok());
        CHECK_THAT(vouched.error(), Catch::Contains("not a CA certificate"));
    }
    SECTION("an expired successor") {
        TestCa next("agentlb CA 2");
        const auto key = ca_key(pinned);
        auto successor =
            resigned(next.ca.certificate(), pinned.ca.certificate(), key.get(), now - 7200, now - 3600);
        auto vouched = check_vouched_ca(pinned.ca.certificate(), successor.get(), now);
        REQUIRE_FALSE(vouched.ok());
        CHECK_THAT(vouched.error(), Catch::Contains("expired on"));
    }
}
