#include "common/lb/host_list.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using Catch::Matchers::Contains;
using namespace agentlb::lb;
using Hosts = std::vector<std::string>;

namespace {

std::string host_list_refusal(std::string_view value) {
    auto result = parse_host_list(value);
    INFO(value);
    REQUIRE_FALSE(result.ok());
    return result.error();
}

}  // namespace

TEST_CASE("host list: entries are kept in order as written") {
    auto hosts = parse_host_list("ms1,10.0.0.2:9000,[::1]:8251");
    REQUIRE(hosts.ok());
    CHECK(*hosts == Hosts{"ms1", "10.0.0.2:9000", "[::1]:8251"});
    auto single = parse_host_list("ms1");
    REQUIRE(single.ok());
    CHECK(*single == Hosts{"ms1"});
}

TEST_CASE("host list: spaces around entries are trimmed") {
    auto hosts = parse_host_list("  ms1 ,\tms2:9000\t, ms3  ");
    REQUIRE(hosts.ok());
    CHECK(*hosts == Hosts{"ms1", "ms2:9000", "ms3"});
}

TEST_CASE("host list: join is the inverse of parse") {
    Hosts hosts{"ms1", "10.0.0.2:9000", "[::1]"};
    CHECK(join_host_list(hosts) == "ms1,10.0.0.2:9000,[::1]");
    auto again = parse_host_list(join_host_list(hosts));
    REQUIRE(again.ok());
    CHECK(*again == hosts);
    CHECK(join_host_list({}) == "");
}

TEST_CASE("host list: empty value refused") {
    CHECK_THAT(host_list_refusal(""), Contains("host list is empty"));
    CHECK_THAT(host_list_refusal("   "), Contains("host list is empty"));
}

TEST_CASE("host list: empty entry refused with its position") {
    CHECK_THAT(host_list_refusal("ms1,,ms2"), Contains("entry 2 is empty"));
    CHECK_THAT(host_list_refusal("ms1, ,ms2"), Contains("entry 2 is empty"));
    CHECK_THAT(host_list_refusal(",ms1"), Contains("entry 1 is empty"));
    CHECK_THAT(host_list_refusal("ms1,ms2,"), Contains("entry 3 is empty"));
}

TEST_CASE("host list: malformed entry refused, quoted with its position") {
    CHECK_THAT(host_list_refusal("ms1,ms_2"),
               Contains("entry 2 \"ms_2\"") && Contains("not a valid host name"));
    CHECK_THAT(host_list_refusal("ms1, 10.0.0.300"),
               Contains("entry 2 \"10.0.0.300\"") && Contains("more than 255"));
    CHECK_THAT(host_list_refusal("ms1 ms2"), Contains("entry 1 \"ms1 ms2\""));
}

TEST_CASE("host list: port out of range refused") {
    CHECK_THAT(host_list_refusal("ms1:70000"),
               Contains("entry 1 \"ms1:70000\"") && Contains("out of range 1-65535"));
    CHECK_THAT(host_list_refusal("ms1,ms2:0"), Contains("entry 2 \"ms2:0\"") && Contains("out of range"));
}

TEST_CASE("host list: duplicates refused after normalising the default port") {
    CHECK_THAT(host_list_refusal("a,b,a:8250"),
               Contains("entries 1 \"a\" and 3 \"a:8250\"") && Contains("same server"));
    CHECK_THAT(host_list_refusal("ms1,ms1"), Contains("entries 1 \"ms1\" and 2 \"ms1\""));
    CHECK_THAT(host_list_refusal("MS1.example,ms1.EXAMPLE"), Contains("same server"));
    CHECK_THAT(host_list_refusal("[::1],[0:0::1]:8250"),
               Contains("\"[::1]\"") && Contains("\"[0:0::1]:8250\""));
    CHECK_THAT(host_list_refusal("::1,[::1]"), Contains("same server"));
    auto distinct_ports = parse_host_list("a:8250,a:8251");
    REQUIRE(distinct_ports.ok());
    CHECK(distinct_ports->size() == 2);
}
