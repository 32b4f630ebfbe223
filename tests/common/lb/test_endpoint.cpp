#include "common/lb/endpoint.hpp"

#include <catch2/catch.hpp>

#include <string>

using Catch::Matchers::Contains;
using namespace agentlb::lb;

namespace {

Endpoint parsed(std::string_view entry) {
    auto result = parse_endpoint(entry);
    INFO(entry);
    REQUIRE(result.ok());
    return *result;
}

std::string endpoint_refusal(std::string_view entry) {
    auto result = parse_endpoint(entry);
    INFO(entry);
    REQUIRE_FALSE(result.ok());
    return result.error();
}

}  // namespace

TEST_CASE("endpoint: names and IPv4 take the default port 8250") {
    CHECK(kDefaultAgentPort == 8250);
    Endpoint name = parsed("ms1.example.com");
    CHECK(name.host == "ms1.example.com");
    CHECK(name.port == 8250);
    Endpoint ip = parsed("10.0.0.255");
    CHECK(ip.host == "10.0.0.255");
    CHECK(ip.port == 8250);
    CHECK(parsed("a-b.c0").host == "a-b.c0");
    CHECK(parsed("0.0.0.0").host == "0.0.0.0");
}

TEST_CASE("endpoint: explicit ports, 1 to 65535") {
    CHECK(parsed("ms1:9000").port == 9000);
    CHECK(parsed("10.1.2.3:1").port == 1);
    CHECK(parsed("ms1:65535").port == 65535);
    CHECK(parsed("ms1:08250").port == 8250);
}

TEST_CASE("endpoint: IPv6 in brackets with and without port, bare IPv6 without port") {
    Endpoint with_port = parsed("[::1]:8251");
    CHECK(with_port.host == "::1");
    CHECK(with_port.port == 8251);
    Endpoint without_port = parsed("[fd00::5]");
    CHECK(without_port.host == "fd00::5");
    CHECK(without_port.port == 8250);
    Endpoint bare = parsed("fd00::1:2");
    CHECK(bare.host == "fd00::1:2");
    CHECK(bare.port == 8250);
}

TEST_CASE("endpoint: to_string always carries the port and brackets IPv6") {
    CHECK(to_string(parsed("ms1")) == "ms1:8250");
    CHECK(to_string(parsed("10.0.0.1:99")) == "10.0.0.1:99");
    CHECK(to_string(parsed("::1")) == "[::1]:8250");
    CHECK(to_string(parsed("[::1]:7")) == "[::1]:7");
}

TEST_CASE("endpoint: port refusals") {
    CHECK_THAT(endpoint_refusal("ms1:0"),
               Contains("\"ms1:0\"") && Contains("port 0 is out of range 1-65535"));
    CHECK_THAT(endpoint_refusal("ms1:65536"), Contains("port 65536 is out of range 1-65535"));
    CHECK_THAT(endpoint_refusal("ms1:99999999999999999999"), Contains("is out of range 1-65535"));
    CHECK_THAT(endpoint_refusal("ms1:"), Contains("empty port"));
    CHECK_THAT(endpoint_refusal("ms1:+80"), Contains("port \"+80\" is not a number"));
    CHECK_THAT(endpoint_refusal("ms1:-80"), Contains("is not a number"));
    CHECK_THAT(endpoint_refusal("ms1:8o"), Contains("is not a number"));
    CHECK_THAT(endpoint_refusal("[::1]:0"), Contains("out of range"));
    CHECK_THAT(endpoint_refusal("[::1]:"), Contains("empty port"));
}

TEST_CASE("endpoint: host name refusals") {
    CHECK_THAT(endpoint_refusal("ms_1"),
               Contains("not a valid host name") && Contains("\"_\" is not allowed"));
    CHECK_THAT(endpoint_refusal("-ms"), Contains("starts or ends with '-'"));
    CHECK_THAT(endpoint_refusal("ms-.example"), Contains("label \"ms-\" starts or ends with '-'"));
    CHECK_THAT(endpoint_refusal("a..b"), Contains("empty label"));
    CHECK_THAT(endpoint_refusal("a.b."), Contains("empty label"));
    CHECK_THAT(endpoint_refusal(std::string(64, 'a')), Contains("longer than 63"));
    std::string long_name;
    for (int i = 0; i < 64; ++i) {
        long_name += "abc.";
    }
    long_name += "de";
    CHECK_THAT(endpoint_refusal(long_name), Contains("longer than 253"));
    CHECK_THAT(endpoint_refusal("ms 1"), Contains("\" \" is not allowed"));
    CHECK_THAT(endpoint_refusal(":8250"), Contains("no host name"));
    CHECK_THAT(endpoint_refusal(""), Contains("empty"));
    CHECK_THAT(endpoint_refusal("ms\t1"), Contains("\\x09"));
}

TEST_CASE("endpoint: IPv4 refusals") {
    CHECK_THAT(endpoint_refusal("10.0.0.256"), Contains("256 is more than 255"));
    CHECK_THAT(endpoint_refusal("10.0.0"), Contains("not a valid IPv4 address"));
    CHECK_THAT(endpoint_refusal("10.0.0.1.2"), Contains("not a valid IPv4 address"));
    CHECK_THAT(endpoint_refusal("10.0.0.01"), Contains("leading zero"));
    CHECK_THAT(endpoint_refusal("1234.0.0.1"), Contains("not a valid IPv4 address"));
    CHECK_THAT(endpoint_refusal("10..0.1"), Contains("not a valid IPv4 address"));
}

// Found by tests/fuzz (lb_config): a part that is not all digits reached
// std::stoi, which threw on "/" and read "-1", "+1" and " 1" as numbers.
TEST_CASE("endpoint: IPv4 parts are decimal digits only") {
    CHECK_THAT(endpoint_refusal("/.0"), Contains("not a valid IPv4 address"));
    CHECK_THAT(endpoint_refusal("a-.0"), Contains("not a valid IPv4 address"));
    CHECK_THAT(endpoint_refusal("-1.-1.-1.0"), Contains("not a valid IPv4 address"));
    CHECK_THAT(endpoint_refusal("+1.2.3.4"), Contains("not a valid IPv4 address"));
    CHECK_THAT(endpoint_refusal("1.\t2.3.4"), Contains("not a valid IPv4 address"));
    CHECK_THAT(endpoint_refusal("1. 2.3.4:8250"), Contains("not a valid IPv4 address"));
}

// Found by tests/fuzz (lb_config): inet_pton read the address only up to a
// NUL byte, so "d00::" followed by a NUL and anything was taken for IPv6.
TEST_CASE("endpoint: a NUL byte is refused, not a place where the address ends") {
    using namespace std::string_literals;
    CHECK_FALSE(parse_endpoint("fd00::1\0garbage"s).ok());
    CHECK_FALSE(parse_endpoint("[fd00::1\0x]:8250"s).ok());
    CHECK_FALSE(parse_endpoint("ms1\0.example"s).ok());
    CHECK_FALSE(same_endpoint("fd00::1\0a"s, "fd00::1\0b"s));
}

TEST_CASE("endpoint: IPv6 refusals") {
    CHECK_THAT(endpoint_refusal("[::1"), Contains("without a closing ']'"));
    CHECK_THAT(endpoint_refusal("[]"), Contains("not a valid IPv6 address"));
    CHECK_THAT(endpoint_refusal("[10.0.0.1]:80"), Contains("not a valid IPv6 address"));
    CHECK_THAT(endpoint_refusal("[::1]8250"), Contains("expected ':port' after ']'"));
    CHECK_THAT(endpoint_refusal("::g"), Contains("not a valid IPv6 address") && Contains("[address]:port"));
    CHECK_THAT(endpoint_refusal("fe80::1%eth0"), Contains("not a valid IPv6 address"));
}

TEST_CASE("same_endpoint applies the default port and ignores the case of names") {
    CHECK(same_endpoint("a.example", "A.EXAMPLE:8250"));
    CHECK(same_endpoint("10.0.0.1:8250", "10.0.0.1"));
    CHECK_FALSE(same_endpoint("10.0.0.1:8251", "10.0.0.1"));
    CHECK_FALSE(same_endpoint("a", "b"));
}

TEST_CASE("same_endpoint compares IPv6 addresses in their canonical form") {
    CHECK(same_endpoint("[::1]", "[0:0::1]:8250"));
    CHECK(same_endpoint("FE80::1", "[fe80::1]"));
    CHECK_FALSE(same_endpoint("[::1]:8300", "[::1]"));
    CHECK_FALSE(same_endpoint("[::1]", "[::2]"));
}

TEST_CASE("same_endpoint is false when either entry does not parse") {
    CHECK_FALSE(same_endpoint("bad:port:x", "bad"));
    CHECK_FALSE(same_endpoint("10.0.0.256", "10.0.0.256"));
    CHECK_FALSE(same_endpoint("", ""));
}

TEST_CASE("identity_key: one key for the forms of one server") {
    CHECK(identity_key(parsed("MS1.Example")) == "ms1.example:8250");
    CHECK(identity_key(parsed("[0::1]:8300")) == "[::1]:8300");
}
