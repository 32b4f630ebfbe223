#include "common/lb/config_keys.hpp"
#include "common/lb/weights.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using Catch::Matchers::Contains;
using namespace agentlb::lb;

namespace {

const std::vector<std::string> kHosts{"ms1", "ms2:9000", "10.0.0.3"};

std::string weights_refusal(std::string_view value) {
    auto weights = parse_weights(value, kHosts);
    REQUIRE_FALSE(weights.ok());
    return weights.error();
}

}  // namespace

TEST_CASE("parse_weights: accepted values") {
    CHECK(parse_weights("", kHosts)->empty());
    CHECK(parse_weights("  ", kHosts)->empty());
    auto weights = parse_weights(" ms1 = 2 ,ms2:9000=0,10.0.0.3=1000", kHosts);
    REQUIRE(weights.ok());
    CHECK(*weights == Weights{{"ms1", 2}, {"ms2:9000", 0}, {"10.0.0.3", 1000}});
    CHECK(weight_of(*weights, "ms1") == 2);
    CHECK(weight_of(*weights, "ms2:9000") == 0);
    CHECK(weight_of(*parse_weights("ms1=3", kHosts), "10.0.0.3") == 1);
}

TEST_CASE("parse_weights: refusals name the entry or the address") {
    CHECK(weights_refusal("ms9=2") == "\"ms9\" is not in `host`; weights name its entries as written there");
    CHECK_THAT(weights_refusal("MS1:8250=2"), Contains("\"MS1:8250\" is written \"ms1\" in `host`"));
    CHECK(weights_refusal("ms1=2,ms1=3") == "\"ms1\" is given twice");
    CHECK_THAT(weights_refusal("ms1=2,,ms2:9000=1"), Contains("entry 2 is empty"));
    CHECK_THAT(weights_refusal("ms1"), Contains("entry 1 \"ms1\" has no '='"));
    CHECK_THAT(weights_refusal("=4"), Contains("has no address"));
    CHECK_THAT(weights_refusal("ms1=1001"), Contains("too large; at most 1000"));
    CHECK_THAT(weights_refusal("ms1=-1"), Contains("not a whole number from 0 to 1000"));
    CHECK_THAT(weights_refusal("ms1=1.5"), Contains("not a whole number"));
    CHECK_THAT(weights_refusal("ms1="), Contains("not a whole number"));
    CHECK_THAT(weights_refusal("ms1=99999999999999999999"), Contains("not a whole number"));
}

TEST_CASE("format_weights: the parser's input form") {
    CHECK(format_weights({}).empty());
    const Weights weights{{"ms1", 2}, {"10.0.0.3", 0}};
    CHECK(format_weights(weights) == "10.0.0.3=0,ms1=2");
    CHECK(*parse_weights(format_weights(weights), kHosts) == weights);
}

TEST_CASE("agentlb.server.weights: syntax alone, then against `host` and back") {
    CHECK(validate_config(kWeightsKey, "anything=3, other=0").ok());
    CHECK(validate_config(kWeightsKey, "").ok());
    auto syntax = validate_config(kWeightsKey, "a=x");
    REQUIRE_FALSE(syntax.ok());
    CHECK_THAT(syntax.error(), Catch::Matchers::StartsWith("agentlb.server.weights: entry 1 \"a=x\""));

    const std::map<std::string, std::string> stored{{"host", "ms1, ms2:9000"},
                                                    {"agentlb.server.weights", "ms2:9000=3"}};
    CHECK(validate_config_with(kWeightsKey, "ms1=0", stored).ok());
    auto foreign = validate_config_with(kWeightsKey, "ms3=1", stored);
    REQUIRE_FALSE(foreign.ok());
    CHECK(foreign.error() ==
          "agentlb.server.weights: \"ms3\" is not in `host`; weights name its entries as written there");
    CHECK_FALSE(validate_config_with(kWeightsKey, "ms1=1", {}).ok());

    CHECK(validate_config_with(kHostKey, "ms2:9000,ms4", stored).ok());
    auto orphan = validate_config_with(kHostKey, "ms1,ms3", stored);
    REQUIRE_FALSE(orphan.ok());
    CHECK_THAT(orphan.error(),
               Catch::Matchers::StartsWith("host: agentlb.server.weights names \"ms2:9000\"") &&
                   Contains("change agentlb.server.weights first"));
    CHECK(validate_config_with(kAlgorithmKey, "hash", stored).ok());

    CHECK(*weights_from_config(stored, {"ms1", "ms2:9000"}) == Weights{{"ms2:9000", 3}});
    CHECK(weights_from_config({}, {"ms1"})->empty());
    auto corrupt = weights_from_config(stored, {"ms1"});
    REQUIRE_FALSE(corrupt.ok());
    CHECK_THAT(corrupt.error(),
               Catch::Matchers::StartsWith("agentlb.server.weights (stored value): \"ms2:9000\""));
}
