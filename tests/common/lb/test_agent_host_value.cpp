#include "common/lb/host_list.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using Catch::Matchers::Contains;
using namespace agentlb::lb;
using Hosts = std::vector<std::string>;

namespace {

std::string refusal(std::string_view value) {
    auto result = parse_agent_host_value(value);
    INFO(value);
    REQUIRE_FALSE(result.ok());
    return result.error();
}

}  // namespace

TEST_CASE("agent host value: hosts and algorithm") {
    auto value = parse_agent_host_value("ms1,ms2:9000,[::1]@roundrobin");
    REQUIRE(value.ok());
    CHECK(value->hosts == Hosts{"ms1", "ms2:9000", "[::1]"});
    CHECK(value->algorithm == "roundrobin");
}

TEST_CASE("agent host value: a legacy value without '@' means static") {
    auto value = parse_agent_host_value("ms1, ms2");
    REQUIRE(value.ok());
    CHECK(value->hosts == Hosts{"ms1", "ms2"});
    CHECK(value->algorithm == "static");
}

TEST_CASE("agent host value: format and parse round trip") {
    AgentHostValue original{{"ms2", "10.0.0.1:9000", "[fd00::1]:8251"}, "shuffle"};
    std::string text = format_agent_host_value(original);
    CHECK(text == "ms2,10.0.0.1:9000,[fd00::1]:8251@shuffle");
    auto back = parse_agent_host_value(text);
    REQUIRE(back.ok());
    CHECK(back->hosts == original.hosts);
    CHECK(back->algorithm == original.algorithm);
}

TEST_CASE("agent host value: refusals") {
    CHECK_THAT(refusal("@"), Contains("no hosts and no algorithm"));
    CHECK_THAT(refusal("ms1,ms2@"), Contains("no algorithm after '@'"));
    CHECK_THAT(refusal("@static"), Contains("no hosts"));
    CHECK_THAT(refusal(""), Contains("no hosts"));
    CHECK_THAT(refusal("ms1@foo"),
               Contains("unknown algorithm \"foo\"") &&
                   Contains("expected one of: static, roundrobin, shuffle, hash"));
    CHECK_THAT(refusal("ms1,,ms2@static"), Contains("entry 2 is empty"));
    // Split at the last '@': the first one lands in the host list and is refused there.
    CHECK_THAT(refusal("ms1@static@static"), Contains("\"ms1@static\""));
}
