#include "certs/fingerprint.hpp"
#include "tests/certs/certs_fixture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>

using namespace agentlb::certs;

namespace {

std::string upper(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
    return text;
}

// "AB:CD:..." as `openssl x509 -fingerprint -sha256` prints it.
std::string with_colons(std::string_view digits) {
    std::string text;
    for (std::size_t i = 0; i < digits.size(); i += 2) {
        if (i > 0) {
            text += ':';
        }
        text += digits.substr(i, 2);
    }
    return text;
}

}  // namespace

TEST_CASE("fingerprint is sha256: and 64 lowercase hex digits, stable across parses") {
    agentlb::certs::test::TestCa test_ca;
    const std::string fingerprint = test_ca.ca.fingerprint();
    REQUIRE(fingerprint.size() == 7 + 64);
    CHECK(fingerprint.rfind("sha256:", 0) == 0);
    CHECK(fingerprint.find_first_not_of("0123456789abcdef", 7) == std::string::npos);

    auto reparsed = parse_certificate_pem(test_ca.ca.certificate_pem());
    REQUIRE(reparsed.ok());
    CHECK(fingerprint_of(reparsed->get()) == fingerprint);
    CHECK(*fingerprint_of_pem(test_ca.ca.certificate_pem()) == fingerprint);
}

TEST_CASE("different certificates have different fingerprints") {
    agentlb::certs::test::TestCa a;
    agentlb::certs::test::TestCa b;
    CHECK(a.ca.fingerprint() != b.ca.fingerprint());
    CHECK_FALSE(fingerprint_equal(a.ca.fingerprint(), b.ca.fingerprint()));
}

TEST_CASE("fingerprint_of_pem refuses text that is not a certificate") {
    auto result = fingerprint_of_pem("hello");
    REQUIRE_FALSE(result.ok());
    CHECK_THAT(result.error(), Catch::Contains("certificate"));
}

TEST_CASE("fingerprint_equal ignores case, prefix and colons, and refuses malformed input") {
    const std::string digits(64, 'a');
    const std::string canonical = "sha256:" + std::string(62, 'a') + "0f";
    const std::string bare = std::string(62, 'a') + "0f";
    CHECK(fingerprint_equal(canonical, canonical));
    CHECK(fingerprint_equal(canonical, upper(canonical)));
    CHECK(fingerprint_equal(canonical, bare));
    CHECK(fingerprint_equal(canonical, "SHA256:" + with_colons(upper(bare))));
    CHECK_FALSE(fingerprint_equal(canonical, "sha256:" + digits));
    CHECK_FALSE(fingerprint_equal(canonical, canonical.substr(0, canonical.size() - 1)));
    CHECK_FALSE(fingerprint_equal(canonical, canonical + "0"));
    CHECK_FALSE(fingerprint_equal(canonical, "sha256:" + std::string(62, 'a') + "0g"));
    CHECK_FALSE(fingerprint_equal("", ""));
    CHECK_FALSE(fingerprint_equal("sha1:" + bare, canonical));
}

TEST_CASE("normalize_fingerprint gives the canonical form or a reason") {
    const std::string bare = std::string(62, 'b') + "0F";
    auto normalized = normalize_fingerprint(with_colons(bare));
    REQUIRE(normalized.ok());
    CHECK(*normalized == "sha256:" + std::string(62, 'b') + "0f");

    auto bad = normalize_fingerprint("sha256:1234");
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error(), Catch::Contains("64 hex digits"));
}
