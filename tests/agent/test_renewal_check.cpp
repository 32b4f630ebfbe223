// check_renewed_certificate: what a `certificate` answer to our `renew` must
// be before anything is written (agent/renewal_check.hpp).

#include "agent/renewal_check.hpp"
#include "certs/ca_import.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "common/util/clock.hpp"
#include "tests/certs/certs_fixture.hpp"
#include "tests/support/org_pki.hpp"

#include <catch2/catch.hpp>

using namespace agentlb;
using namespace agentlb::agent;
using certs::test::agent_options;
using certs::test::ca_key;
using certs::test::resigned;
using certs::test::TestCa;
using util::unix_now;

namespace {

// A fresh key (the one a renewal makes) and a certificate for it from `ca`.
struct Renewal {
    std::string key_pem;
    std::string cert_pem;
};

Renewal issue_for_new_key(const certs::CertificateAuthority& ca, const std::string& name = "kvm1") {
    auto key = certs::generate_p256_key();
    REQUIRE(key.ok());
    auto csr = certs::make_csr_pem(key->get(), name);
    REQUIRE(csr.ok());
    auto issued = ca.issue(*csr, agent_options(name));
    REQUIRE(issued.ok());
    return {certs::private_key_to_pem(key->get()), issued->pem};
}

}  // namespace

TEST_CASE("a renewed certificate from the pinned CA is accepted, with or without the CA in the message") {
    TestCa pinned;
    const auto renewal = issue_for_new_key(pinned.ca);
    const std::string pinned_pem = pinned.ca.certificate_pem();
    for (const std::string& offered : {pinned_pem, std::string()}) {
        auto checked = check_renewed_certificate(
            pinned_pem, renewal.key_pem, "kvm1", wire::Certificate{renewal.cert_pem, offered}, unix_now());
        INFO((checked ? "" : checked.error()));
        REQUIRE(checked.ok());
        CHECK_FALSE(checked->new_ca);
        CHECK(checked->renewed.ca_pem == pinned_pem);
        CHECK(checked->renewed.cert_pem == renewal.cert_pem);
        CHECK(checked->renewed.key_pem == renewal.key_pem);
    }
}

TEST_CASE("a renewed certificate that does not chain to the pinned CA is refused") {
    TestCa pinned;
    TestCa other;  // same name "agentlb CA", another key
    const auto foreign = issue_for_new_key(other.ca);

    SECTION("with the other CA in the message") {
        auto checked =
            check_renewed_certificate(pinned.ca.certificate_pem(),
                                      foreign.key_pem,
                                      "kvm1",
                                      wire::Certificate{foreign.cert_pem, other.ca.certificate_pem()},
                                      unix_now());
        REQUIRE_FALSE(checked.ok());
        CHECK_THAT(checked.error(),
                   Catch::Contains("another CA certificate") && Catch::Contains("does not vouch"));
    }
    SECTION("with our CA in the message") {
        auto checked =
            check_renewed_certificate(pinned.ca.certificate_pem(),
                                      foreign.key_pem,
                                      "kvm1",
                                      wire::Certificate{foreign.cert_pem, pinned.ca.certificate_pem()},
                                      unix_now());
        REQUIRE_FALSE(checked.ok());
        CHECK_THAT(checked.error(), Catch::Contains("does not verify against our CA"));
    }
}

TEST_CASE("a renewed certificate from a successor CA the pinned CA signed is accepted, that CA added") {
    TestCa pinned;
    TestCa next("agentlb CA 2");
    const auto key = ca_key(pinned);
    const std::int64_t now = unix_now();
    auto successor =
        resigned(next.ca.certificate(), pinned.ca.certificate(), key.get(), now - 60, now + 86400);
    const std::string successor_pem = certs::to_pem(successor.get());
    const auto renewal = issue_for_new_key(next.ca);
    auto checked = check_renewed_certificate(pinned.ca.certificate_pem(),
                                             renewal.key_pem,
                                             "kvm1",
                                             wire::Certificate{renewal.cert_pem, successor_pem},
                                             now);
    INFO((checked ? "" : checked.error()));
    REQUIRE(checked.ok());
    CHECK(checked->new_ca);
    // Added to the pinned CA, not replacing it: servers with certificates of
    // the old CA stay reachable.
    CHECK(checked->renewed.ca_pem == pinned.ca.certificate_pem() + successor_pem);

    // The successor itself, self-signed (not vouched for), is refused.
    auto self_signed =
        check_renewed_certificate(pinned.ca.certificate_pem(),
                                  renewal.key_pem,
                                  "kvm1",
                                  wire::Certificate{renewal.cert_pem, next.ca.certificate_pem()},
                                  now);
    REQUIRE_FALSE(self_signed.ok());
    CHECK_THAT(self_signed.error(), Catch::Contains("does not vouch"));
}

TEST_CASE("a renewed certificate for another key or another name is refused") {
    TestCa pinned;
    const auto renewal = issue_for_new_key(pinned.ca, "kvm1");
    const auto other_key = issue_for_new_key(pinned.ca, "kvm1");
    auto wrong_key = check_renewed_certificate(pinned.ca.certificate_pem(),
                                               other_key.key_pem,
                                               "kvm1",
                                               wire::Certificate{renewal.cert_pem, ""},
                                               unix_now());
    REQUIRE_FALSE(wrong_key.ok());
    CHECK_THAT(wrong_key.error(), Catch::Contains("not for our new key"));
    auto wrong_name = check_renewed_certificate(pinned.ca.certificate_pem(),
                                                renewal.key_pem,
                                                "kvm2",
                                                wire::Certificate{renewal.cert_pem, ""},
                                                unix_now());
    REQUIRE_FALSE(wrong_name.ok());
    CHECK_THAT(wrong_name.error(), Catch::Contains("names \"kvm1\", not \"kvm2\""));
}

TEST_CASE(
    "a renewed certificate from an imported CA verifies with the chain sent beside it, kept in the file") {
    agentlb::test::TempDir dir;
    const agentlb::test::OrgPki pki;
    const auto in = pki.write(dir.path() / "in");
    REQUIRE(certs::import_ca(
        dir.path() / "ca", {in / "issuing.crt", in / "issuing.key", in / "chain.crt"}, unix_now()));
    auto ca = certs::CertificateAuthority::load(dir.path() / "ca");
    REQUIRE(ca.ok());
    const auto renewal = issue_for_new_key(*ca);
    const std::string root = ca->trust_anchor_pem();

    auto without = check_renewed_certificate(
        root, renewal.key_pem, "kvm1", wire::Certificate{renewal.cert_pem, root}, unix_now());
    REQUIRE_FALSE(without.ok());
    CHECK_THAT(without.error(), Catch::Contains("does not verify against our CA"));

    auto checked =
        check_renewed_certificate(root,
                                  renewal.key_pem,
                                  "kvm1",
                                  wire::Certificate{renewal.cert_pem, root, ca->intermediates_pem()},
                                  unix_now());
    INFO((checked ? "" : checked.error()));
    REQUIRE(checked.ok());
    CHECK_FALSE(checked->new_ca);
    CHECK(checked->renewed.ca_pem == root);
    CHECK(checked->renewed.cert_pem == renewal.cert_pem + ca->intermediates_pem());
}

// decide_renewal: the `renewal` policy the servers send (issue 16).
TEST_CASE("decide_renewal follows the servers' fraction, key type and automatic flag") {
    TestCa test_ca;
    auto options = agent_options("kvm1");
    const auto start = std::chrono::system_clock::from_time_t(1'700'000'000);
    options.not_before_override = start;
    options.not_after_override = start + std::chrono::seconds(1000);
    auto issued = test_ca.ca.issue(*certs::make_csr_pem(certs::generate_p256_key()->get(), "kvm1"), options);
    REQUIRE(issued.ok());
    auto cert = certs::parse_certificate_pem(issued->pem);
    REQUIRE(cert.ok());
    const std::int64_t t0 = 1'700'000'000;

    SECTION("no policy: two thirds, P-256, automatic") {
        CHECK_FALSE(decide_renewal(cert->get(), std::nullopt, t0 + 600).due);
        const auto due = decide_renewal(cert->get(), std::nullopt, t0 + 667);
        CHECK(due.due);
        CHECK(due.key_type == certs::KeyType::p256);
        CHECK(due.note.empty());
    }
    SECTION("a fraction of one half and P-384") {
        const wire::Renewal policy{"p384", 500, true};
        CHECK_FALSE(decide_renewal(cert->get(), policy, t0 + 499).due);
        const auto due = decide_renewal(cert->get(), policy, t0 + 500);
        CHECK(due.due);
        CHECK(due.key_type == certs::KeyType::p384);
    }
    SECTION("automatic renewal off: never due") {
        const auto decision = decide_renewal(cert->get(), wire::Renewal{"rsa3072", 500, false}, t0 + 999);
        CHECK_FALSE(decision.due);
        CHECK_FALSE(decision.automatic);
    }
    SECTION("an unknown key type or fraction falls back, and says so") {
        const auto decision = decide_renewal(cert->get(), wire::Renewal{"ed448", 5000, true}, t0 + 700);
        CHECK(decision.due);  // two thirds
        CHECK(decision.key_type == certs::KeyType::p256);
        CHECK_THAT(decision.note, Catch::Contains("unknown key type \"ed448\""));
        CHECK_THAT(decision.note, Catch::Contains("out of range"));
        CHECK_FALSE(decide_renewal(cert->get(), wire::Renewal{"p256", 5000, true}, t0 + 600).due);
    }
}
