#include "certs/inspect.hpp"
#include "tests/certs/certs_fixture.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using namespace agentlb::certs;
using agentlb::certs::test::agent_options;
using agentlb::certs::test::issue_parsed;
using agentlb::certs::test::server_options;
using agentlb::certs::test::TestCa;

TEST_CASE("needs_renewal turns true at two thirds of the validity") {
    TestCa test_ca;
    auto options = agent_options();
    const std::int64_t start = 1'600'000'000;
    options.not_before_override = std::chrono::system_clock::from_time_t(start);
    options.not_after_override = std::chrono::system_clock::from_time_t(start + 300 * 86400);
    X509Ptr leaf = issue_parsed(test_ca.ca, options);
    const std::int64_t two_thirds = start + 200 * 86400;
    CHECK_FALSE(needs_renewal(leaf.get(), start));
    CHECK_FALSE(needs_renewal(leaf.get(), two_thirds - 1));
    CHECK(needs_renewal(leaf.get(), two_thirds));
    CHECK(needs_renewal(leaf.get(), start + 400 * 86400));
}

TEST_CASE("a fresh 365-day certificate does not need renewal yet") {
    TestCa test_ca;
    X509Ptr leaf = issue_parsed(test_ca.ca, agent_options());
    const auto now = not_before_of(leaf.get()) + 300;
    CHECK_FALSE(needs_renewal(leaf.get(), now));
    CHECK(needs_renewal(leaf.get(), now + 244 * 86400));
}

TEST_CASE("matches_address checks names and addresses with or without a port") {
    TestCa test_ca;
    X509Ptr leaf = issue_parsed(test_ca.ca, server_options());  // ms1.example, 10.0.0.1, ::1
    X509* cert = leaf.get();
    CHECK(matches_address(cert, "10.0.0.1"));
    CHECK(matches_address(cert, "10.0.0.1:8250"));
    CHECK(matches_address(cert, "[::1]:8250"));
    CHECK(matches_address(cert, "[::1]"));
    CHECK(matches_address(cert, "::1"));
    CHECK(matches_address(cert, "0:0:0:0:0:0:0:1"));
    CHECK(matches_address(cert, "ms1.example"));
    CHECK(matches_address(cert, "MS1.Example:8251"));

    CHECK_FALSE(matches_address(cert, "10.0.0.2"));
    CHECK_FALSE(matches_address(cert, "10.0.0.2:8250"));
    CHECK_FALSE(matches_address(cert, "[::2]:8250"));
    CHECK_FALSE(matches_address(cert, "ms2.example"));
    CHECK_FALSE(matches_address(cert, "example"));
    CHECK_FALSE(matches_address(cert, "ms1"));  // the CN is not a SAN
    CHECK_FALSE(matches_address(cert, ""));
    CHECK_FALSE(matches_address(cert, "[::1"));
    CHECK_FALSE(matches_address(cert, ":8250"));
}

TEST_CASE("serial_of and common_name_of read back what was issued") {
    TestCa test_ca;
    auto issued = test_ca.ca.issue(agentlb::certs::test::fresh_csr(), agent_options("kvm-ü"));
    REQUIRE(issued.ok());
    auto leaf = parse_certificate_pem(issued->pem);
    REQUIRE(leaf.ok());
    CHECK(serial_of(leaf->get()) == issued->serial);
    CHECK(common_name_of(leaf->get()) == "kvm-ü");
}
