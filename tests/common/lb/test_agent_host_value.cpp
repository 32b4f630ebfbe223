#include "common/lb/host_list.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using Catch::Matchers::Contains;
using namespace agentlb::lb;
using Hosts = std::vector<std::string>;

namespace {

std::string host_value_refusal(std::string_view value) {
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

TEST_CASE("agent host value: a value without '@' holds no algorithm") {
    // CloudStack's compare counts a missing algorithm as a mismatch: the
    // servers must see the absence to send the correction.
    auto value = parse_agent_host_value("ms1, ms2");
    REQUIRE(value.ok());
    CHECK(value->hosts == Hosts{"ms1", "ms2"});
    CHECK(value->algorithm.empty());

    // Written back as read, so the next hello reports the absence again.
    CHECK(format_agent_host_value(*value) == "ms1,ms2");
    auto back = parse_agent_host_value(format_agent_host_value(*value));
    REQUIRE(back.ok());
    CHECK(back->hosts == value->hosts);
    CHECK(back->algorithm.empty());

    // The hosts are still checked.
    CHECK_THAT(host_value_refusal("ms1,,ms2"), Contains("entry 2 is empty"));
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
    CHECK_THAT(host_value_refusal("@"), Contains("no hosts and no algorithm"));
    CHECK_THAT(host_value_refusal("ms1,ms2@"), Contains("no algorithm after '@'"));
    CHECK_THAT(host_value_refusal("@static"), Contains("no hosts"));
    CHECK_THAT(host_value_refusal(""), Contains("no hosts"));
    CHECK_THAT(host_value_refusal("ms1@fo o"), Contains("algorithm \"fo o\" is not a name"));
    CHECK_THAT(host_value_refusal("ms1@st\x1b[2Jatic"), Contains("\"st\\x1b[2Jatic\" is not a name"));
    CHECK_THAT(host_value_refusal("ms1@" + std::string(65, 'a')), Contains("is not a name"));
    CHECK_THAT(host_value_refusal("ms1,,ms2@static"), Contains("entry 2 is empty"));
    // Split at the last '@': the first one lands in the host list and is refused there.
    CHECK_THAT(host_value_refusal("ms1@static@static"), Contains("\"ms1@static\""));
}

TEST_CASE(
    "agent host value: an algorithm this build does not know is kept, for agents older than their servers") {
    auto value = parse_agent_host_value("ms1,ms2@fastest");
    REQUIRE(value.ok());
    CHECK(value->hosts == std::vector<std::string>{"ms1", "ms2"});
    CHECK(value->algorithm == "fastest");
    CHECK(format_agent_host_value(*value) == "ms1,ms2@fastest");
    CHECK(parse_agent_host_value("ms1@" + std::string(64, 'a')).ok());
}
