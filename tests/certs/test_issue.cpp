#include "certs/ca.hpp"
#include "certs/inspect.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "certs/x509_builder.hpp"
#include "common/util/clock.hpp"
#include "tests/certs/certs_fixture.hpp"

#include <catch2/catch.hpp>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <set>
#include <thread>

using namespace agentlb::certs;
using agentlb::certs::test::agent_options;
using agentlb::certs::test::fresh_csr;
using agentlb::certs::test::issue_parsed;
using agentlb::certs::test::server_options;
using agentlb::certs::test::TestCa;
using agentlb::util::unix_now;

namespace {

EvpPkeyPtr generate(const char* type, const char* parameter_name, const char* value) {
    EvpPkeyCtxPtr context(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    REQUIRE(context);
    REQUIRE(EVP_PKEY_keygen_init(context.get()) == 1);
    if (std::string_view(parameter_name) == "group") {
        REQUIRE(EVP_PKEY_CTX_set_group_name(context.get(), value) == 1);
    } else {
        REQUIRE(EVP_PKEY_CTX_set_rsa_keygen_bits(context.get(), std::stoi(value)) == 1);
    }
    EVP_PKEY* key = nullptr;
    REQUIRE(EVP_PKEY_generate(context.get(), &key) == 1);
    return EvpPkeyPtr(key);
}

}  // namespace

TEST_CASE("an agent certificate carries the CA's subject, clientAuth only, and 365 days") {
    TestCa test_ca;
    const auto before = unix_now();
    auto issued = test_ca.ca.issue(fresh_csr("name-in-csr-is-ignored"), agent_options("kvm-17"));
    REQUIRE(issued.ok());
    auto parsed = parse_certificate_pem(issued->pem);
    REQUIRE(parsed.ok());
    X509* leaf = parsed->get();

    CHECK(common_name_of(leaf) == "kvm-17");
    CHECK(X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(test_ca.ca.certificate())) == 0);
    CHECK(X509_get_extended_key_usage(leaf) == XKU_SSL_CLIENT);
    CHECK(X509_get_key_usage(leaf) == KU_DIGITAL_SIGNATURE);
    CHECK(X509_check_ca(leaf) == 0);
    CHECK(dns_names_of(leaf).empty());
    CHECK(ip_addresses_of(leaf).empty());
    CHECK(X509_get_signature_nid(leaf) == NID_ecdsa_with_SHA256);
    CHECK(X509_get_version(leaf) == X509_VERSION_3);
    REQUIRE(X509_get0_authority_key_id(leaf) != nullptr);
    CHECK(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf),
                                X509_get0_subject_key_id(test_ca.ca.certificate())) == 0);

    CHECK(issued->serial == serial_of(leaf));
    CHECK(issued->not_after == not_after_of(leaf));
    const auto after = unix_now();
    CHECK(not_after_of(leaf) >= before + 365LL * 86400);
    CHECK(not_after_of(leaf) <= after + 365LL * 86400);
    // Backdated five minutes for clients whose clock is behind.
    CHECK(not_before_of(leaf) >= before - 300);
    CHECK(not_before_of(leaf) <= after - 300);
}

TEST_CASE("a short validity is backdated by a tenth of it, so its renewal point lies ahead") {
    TestCa test_ca;
    IssueOptions options = server_options("ms1");
    options.validity = std::chrono::seconds(90);
    const auto before = unix_now();
    X509Ptr leaf = issue_parsed(test_ca.ca, options);
    const auto after = unix_now();
    CHECK(not_before_of(leaf.get()) >= before - 9);
    CHECK(not_before_of(leaf.get()) <= after - 9);
    CHECK(not_after_of(leaf.get()) <= after + 90);
    CHECK(renewal_time(leaf.get(), 670) > after + 50);
    CHECK(renewal_time(leaf.get(), 670) < after + 60);
    CHECK_FALSE(needs_renewal(leaf.get(), after));
    // The issue time is read back from the dates, for short and long validities alike.
    CHECK(issue_time_of(not_before_of(leaf.get()), not_after_of(leaf.get())) >= before);
    CHECK(issue_time_of(not_before_of(leaf.get()), not_after_of(leaf.get())) <= after);
    X509Ptr year = issue_parsed(test_ca.ca, server_options("ms1"));
    CHECK(issue_time_of(not_before_of(year.get()), not_after_of(year.get())) ==
          not_before_of(year.get()) + 300);
}

TEST_CASE("a server certificate has serverAuth and clientAuth and the requested SANs") {
    TestCa test_ca;
    X509Ptr leaf = issue_parsed(test_ca.ca, server_options("ms1"));
    CHECK(common_name_of(leaf.get()) == "ms1");
    CHECK(X509_get_extended_key_usage(leaf.get()) == (XKU_SSL_SERVER | XKU_SSL_CLIENT));
    CHECK(X509_get_key_usage(leaf.get()) == KU_DIGITAL_SIGNATURE);
    CHECK(dns_names_of(leaf.get()) == std::vector<std::string>{"ms1.example"});
    CHECK(ip_addresses_of(leaf.get()) == std::vector<std::string>{"10.0.0.1", "::1"});
}

TEST_CASE("a server certificate needs a name or address, and bad SANs are refused") {
    TestCa test_ca;
    auto options = server_options();
    options.dns_names.clear();
    options.ip_addresses.clear();
    auto none = test_ca.ca.issue(fresh_csr(), options);
    REQUIRE_FALSE(none.ok());
    CHECK_THAT(none.error(), Catch::Contains("at least one DNS name or IP address"));

    options = server_options();
    options.ip_addresses = {"10.0.0.300"};
    auto bad_ip = test_ca.ca.issue(fresh_csr(), options);
    REQUIRE_FALSE(bad_ip.ok());
    CHECK_THAT(bad_ip.error(), Catch::Contains("10.0.0.300") && Catch::Contains("not an IPv4 or IPv6"));

    options = server_options();
    options.dns_names = {"ms1.example,DNS:evil.example"};
    auto bad_dns = test_ca.ca.issue(fresh_csr(), options);
    REQUIRE_FALSE(bad_dns.ok());
    CHECK_THAT(bad_dns.error(), Catch::Contains("DNS name"));

    options = server_options();
    options.ip_addresses = {"[fe80::1]"};
    X509Ptr bracketed = issue_parsed(test_ca.ca, options);
    CHECK(ip_addresses_of(bracketed.get()) == std::vector<std::string>{"fe80::1"});
}

TEST_CASE("issue refuses an empty or over-long common name") {
    TestCa test_ca;
    auto empty = test_ca.ca.issue(fresh_csr(), agent_options(""));
    REQUIRE_FALSE(empty.ok());
    CHECK_THAT(empty.error(), Catch::Contains("common name is empty"));
    auto long_name = test_ca.ca.issue(fresh_csr(), agent_options(std::string(65, 'a')));
    REQUIRE_FALSE(long_name.ok());
    CHECK_THAT(long_name.error(), Catch::Contains("longer than 64"));
}

TEST_CASE("serials are unique and positive 128-bit values over 100 issues") {
    TestCa test_ca;
    const std::string csr = fresh_csr();
    std::set<std::string> serials;
    for (int i = 0; i < 100; ++i) {
        auto issued = test_ca.ca.issue(csr, agent_options());
        REQUIRE(issued.ok());
        const std::string& serial = issued->serial;
        REQUIRE(!serial.empty());
        CHECK(serial.size() <= 32);
        CHECK(serial.find_first_not_of("0123456789abcdef") == std::string::npos);
        CHECK(serial.front() != '0');
        serials.insert(serial);
    }
    CHECK(serials.size() == 100);
}

TEST_CASE("the validity and the dates can be set") {
    TestCa test_ca;
    auto options = agent_options();
    options.validity = std::chrono::hours(24);
    const auto before = unix_now();
    X509Ptr day = issue_parsed(test_ca.ca, options);
    CHECK(not_after_of(day.get()) >= before + 86400);
    CHECK(not_after_of(day.get()) <= before + 86400 + 5);

    const auto start = std::chrono::system_clock::from_time_t(1'600'000'000);
    options.not_before_override = start;
    options.not_after_override = start + std::chrono::hours(1);
    X509Ptr fixed = issue_parsed(test_ca.ca, options);
    CHECK(not_before_of(fixed.get()) == 1'600'000'000);
    CHECK(not_after_of(fixed.get()) == 1'600'003'600);

    options.not_after_override = start - std::chrono::hours(1);
    auto backwards = test_ca.ca.issue(fresh_csr(), options);
    REQUIRE_FALSE(backwards.ok());
    CHECK_THAT(backwards.error(), Catch::Contains("before it starts"));
}

TEST_CASE("garbage is refused as a CSR") {
    TestCa test_ca;
    for (std::string garbage :
         {std::string(),
          std::string("hello"),
          std::string("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"),
          test_ca.ca.certificate_pem()}) {
        auto issued = test_ca.ca.issue(garbage, agent_options());
        REQUIRE_FALSE(issued.ok());
        CHECK_THAT(issued.error(), Catch::Contains("CSR"));
    }
}

TEST_CASE("a CSR altered after signing is refused") {
    TestCa test_ca;
    auto request = parse_csr_pem(fresh_csr("kvm1"));
    REQUIRE(request.ok());
    // Swap in another public key but keep the original signature.
    auto other = generate_p256_key();
    REQUIRE(other.ok());
    REQUIRE(X509_REQ_set_pubkey(request->get(), other->get()) == 1);
    const std::string tampered = to_pem(request->get());

    auto issued = test_ca.ca.issue(tampered, agent_options());
    REQUIRE_FALSE(issued.ok());
    CHECK_THAT(issued.error(), Catch::Contains("CSR signature does not verify"));
}

TEST_CASE("generate_key makes each configured key type and the CA certifies it") {
    TestCa test_ca;
    struct Expected {
        KeyType type;
        const char* algorithm;
        int bits;
    };
    for (const Expected& expected : {Expected{KeyType::p256, "EC", 256},
                                     Expected{KeyType::p384, "EC", 384},
                                     Expected{KeyType::rsa3072, "RSA", 3072}}) {
        INFO(to_string(expected.type));
        auto key = generate_key(expected.type);
        REQUIRE(key.ok());
        CHECK(EVP_PKEY_is_a(key->get(), expected.algorithm) == 1);
        CHECK(EVP_PKEY_get_bits(key->get()) == expected.bits);
        auto issued = test_ca.ca.issue(*make_csr_pem(key->get(), "kvm1"), agent_options());
        INFO((issued ? "" : issued.error()));
        REQUIRE(issued.ok());
        auto cert = parse_certificate_pem(issued->pem);
        REQUIRE(cert.ok());
        CHECK(key_matches_certificate(key->get(), cert->get()));
    }
}

TEST_CASE("CSR keys other than EC P-256, P-384 or RSA >= 2048 are refused") {
    TestCa test_ca;
    SECTION("EC P-521") {
        EvpPkeyPtr key = generate("EC", "group", "P-521");
        auto issued = test_ca.ca.issue(*make_csr_pem(key.get(), "kvm1"), agent_options());
        REQUIRE_FALSE(issued.ok());
        CHECK_THAT(issued.error(), Catch::Contains("P-256 or P-384 is required"));
    }
    SECTION("RSA 1024") {
        EvpPkeyPtr key = generate("RSA", "bits", "1024");
        auto issued = test_ca.ca.issue(*make_csr_pem(key.get(), "kvm1"), agent_options());
        REQUIRE_FALSE(issued.ok());
        CHECK_THAT(issued.error(), Catch::Contains("RSA key of 1024 bits is refused"));
    }
    SECTION("Ed25519") {
        EvpPkeyCtxPtr context(EVP_PKEY_CTX_new_from_name(nullptr, "ED25519", nullptr));
        REQUIRE(EVP_PKEY_keygen_init(context.get()) == 1);
        EVP_PKEY* raw = nullptr;
        REQUIRE(EVP_PKEY_generate(context.get(), &raw) == 1);
        EvpPkeyPtr key(raw);
        // make_csr_pem signs with SHA-256, which Ed25519 refuses, so sign by hand.
        X509ReqPtr request(X509_REQ_new());
        REQUIRE(X509_REQ_set_pubkey(request.get(), key.get()) == 1);
        REQUIRE(X509_REQ_sign(request.get(), key.get(), nullptr) > 0);
        auto issued = test_ca.ca.issue(to_pem(request.get()), agent_options());
        REQUIRE_FALSE(issued.ok());
        CHECK_THAT(issued.error(), Catch::Contains("ED25519 key is refused"));
    }
}

TEST_CASE("make_csr_pem produces a CSR signed by the key with the given CN") {
    auto key = generate_p256_key();
    REQUIRE(key.ok());
    auto csr = make_csr_pem(key->get(), "kvm-9");
    REQUIRE(csr.ok());
    auto request = parse_csr_pem(*csr);
    REQUIRE(request.ok());
    CHECK(X509_REQ_verify(request->get(), key->get()) == 1);
    char cn[64] = {};
    X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(request->get()), NID_commonName, cn, sizeof cn);
    CHECK(std::string(cn) == "kvm-9");

    auto bad = make_csr_pem(key->get(), "");
    REQUIRE_FALSE(bad.ok());
}

TEST_CASE("key_matches_certificate tells a certificate's key from another") {
    TestCa test_ca;
    auto key = generate_p256_key();
    REQUIRE(key.ok());
    auto issued = test_ca.ca.issue(*make_csr_pem(key->get(), "kvm1"), agent_options());
    REQUIRE(issued.ok());
    auto leaf = parse_certificate_pem(issued->pem);
    REQUIRE(leaf.ok());
    auto other = generate_p256_key();
    REQUIRE(other.ok());
    CHECK(key_matches_certificate(key->get(), leaf->get()));
    CHECK_FALSE(key_matches_certificate(other->get(), leaf->get()));
}

TEST_CASE("one CA issues from several threads at once") {
    TestCa test_ca;
    const std::string csr = fresh_csr();
    constexpr int kThreads = 4;
    constexpr int kEach = 10;
    std::vector<std::vector<std::string>> serials(kThreads);  // one slot per thread: no sharing
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                auto issued = test_ca.ca.issue(csr, agent_options());
                serials[t].push_back(issued ? issued->serial : std::string());
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    std::set<std::string> unique;
    for (const auto& list : serials) {
        for (const auto& serial : list) {
            CHECK_FALSE(serial.empty());
            unique.insert(serial);
        }
    }
    CHECK(unique.size() == kThreads * kEach);
}
