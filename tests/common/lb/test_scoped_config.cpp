#include "common/lb/config_keys.hpp"
#include "common/lb/scoped_config.hpp"

#include <catch2/catch.hpp>

using namespace agentlb::lb;

namespace {

ScopedConfig sample() {
    ScopedConfig config;
    config.global = {{"host", "ms1,ms2"}, {"indirect.agent.lb.algorithm", "static"}};
    config.overrides[ConfigScope{"z1", ""}] = {{"host", "ms3,ms4"},
                                               {"indirect.agent.lb.check.interval", "60"}};
    config.overrides[ConfigScope{"z1", "c1"}] = {{"indirect.agent.lb.algorithm", "roundrobin"}};
    config.overrides[ConfigScope{"z2", "c1"}] = {{"host", "ms9"}};
    return config;
}

}  // namespace

TEST_CASE("the most specific stored value wins: cluster, zone, global, default") {
    const ScopedConfig config = sample();

    const auto from_cluster = effective_value(config, "indirect.agent.lb.algorithm", {"z1", "c1"});
    CHECK(from_cluster.value == std::optional<std::string>("roundrobin"));
    CHECK(from_cluster.source == ValueSource::cluster);
    CHECK(describe_source(from_cluster) == "cluster c1");

    const auto from_zone = effective_value(config, "host", {"z1", "c1"});
    CHECK(from_zone.value == std::optional<std::string>("ms3,ms4"));
    CHECK(from_zone.source == ValueSource::zone);
    CHECK(describe_source(from_zone) == "zone z1");

    const auto from_global = effective_value(config, "indirect.agent.lb.algorithm", {"z1", "c2"});
    CHECK(from_global.value == std::optional<std::string>("static"));
    CHECK(describe_source(from_global) == "global");

    const auto unset = effective_value(config, "agentlb.drain.rate", {"z1", "c1"});
    CHECK_FALSE(unset.value.has_value());
    CHECK(describe_source(unset) == "default");
}

TEST_CASE("a cluster's values apply only in its own zone") {
    const ScopedConfig config = sample();
    // Cluster c1 of z2 sets host; c1 of z1 does not, so z1's hosts get z1's list.
    CHECK(effective_value(config, "host", {"z2", "c1"}).value == std::optional<std::string>("ms9"));
    CHECK(effective_value(config, "host", {"z1", "c1"}).value == std::optional<std::string>("ms3,ms4"));
    CHECK(effective_value(config, "host", {"z2", ""}).value == std::optional<std::string>("ms1,ms2"));
    CHECK(effective_value(config, "host", {"z3", "c1"}).source == ValueSource::global);
}

TEST_CASE("effective_values merges the global, zone and cluster values, most specific last") {
    const auto values = effective_values(sample(), {"z1", "c1"});
    CHECK(values == std::map<std::string, std::string>{{"host", "ms3,ms4"},
                                                       {"indirect.agent.lb.algorithm", "roundrobin"},
                                                       {"indirect.agent.lb.check.interval", "60"}});
    CHECK(effective_values(sample(), {}) == sample().global);
}

TEST_CASE("scopes are described for people and checked") {
    CHECK(describe_scope({}) == "global");
    CHECK(describe_scope({"z1", ""}) == "zone \"z1\"");
    CHECK(describe_scope({"z1", "c1"}) == "cluster \"c1\" of zone \"z1\"");
    CHECK(check_scope({"z1", "c1"}));
    const auto orphan = check_scope({"", "c1"});
    REQUIRE_FALSE(orphan);
    CHECK_THAT(orphan.error(), Catch::Matchers::Contains("needs its zone"));
    const auto spaced = check_scope({"z1", "c 1"});
    REQUIRE_FALSE(spaced);
    CHECK_THAT(spaced.error(), Catch::Matchers::Contains("cluster \"c 1\" contains a space"));
}

TEST_CASE("server-only keys cannot be scoped, every other key can") {
    for (const ServerKey* key : kServerKeys) {
        CHECK(is_server_only_key(key->name));
        const auto refused = check_scoped_change({}, {"z1", ""}, key->name, std::string("5"));
        REQUIRE_FALSE(refused);
        CHECK_THAT(refused.error(), Catch::Matchers::StartsWith(std::string(key->name) + ": cannot be set"));
        CHECK(check_scoped_change({}, {}, key->name, std::string("5")));
    }
    CHECK_FALSE(is_server_only_key("host"));
    CHECK(check_scoped_change({}, {"z1", "c1"}, "host", std::string("ms1")));
    CHECK(check_scoped_change({}, {"z1", ""}, "indirect.agent.lb.algorithm", std::string("shuffle")));
}

TEST_CASE("a scoped value gets the same validation as its global form") {
    const auto bad =
        check_scoped_change(sample(), {"z1", ""}, "indirect.agent.lb.algorithm", std::string("x"));
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error(), Catch::Matchers::StartsWith("indirect.agent.lb.algorithm: "));
    CHECK_FALSE(check_scoped_change(sample(), {"z1", "c1"}, "host", std::string("ms1,ms1")));
    CHECK_FALSE(check_scoped_change(sample(), {"z1", "c1"}, "no.such.key", std::string("1")));
    CHECK(check_scoped_change(sample(), {"z1", "c1"}, "indirect.agent.lb.algorithm", std::nullopt));
}

TEST_CASE("a change is checked in every place it reaches, but a place broken before does not block it") {
    ScopedConfig config = sample();
    // Written by hand: cluster c2 of z1 holds a corrupt interval.
    config.overrides[ConfigScope{"z1", "c2"}] = {{"indirect.agent.lb.check.interval", "soon"}};
    CHECK(places_under(config, {"z1", ""}) ==
          std::vector<ConfigScope>{{"z1", ""}, {"z1", "c1"}, {"z1", "c2"}});
    CHECK(places_under(config, {}).size() == 5);
    // An unrelated change still goes through, and so does the repair.
    CHECK(check_scoped_change(config, {}, "host", std::string("ms5")));
    CHECK(check_scoped_change(config, {"z1", "c2"}, "indirect.agent.lb.check.interval", std::nullopt));
    const auto repaired = with_change(config, {"z1", "c2"}, "indirect.agent.lb.check.interval", std::nullopt);
    CHECK(repaired.overrides.count(ConfigScope{"z1", "c2"}) == 0);
}

TEST_CASE("with_change sets and removes values in one scope") {
    auto config = with_change({}, {"z1", "c1"}, "host", std::string("ms1"));
    CHECK(config.overrides.at(ConfigScope{"z1", "c1"}).at("host") == "ms1");
    config = with_change(config, {}, "host", std::string("ms2"));
    CHECK(config.global.at("host") == "ms2");
    config = with_change(config, {"z1", "c1"}, "host", std::nullopt);
    CHECK(config.overrides.empty());
    CHECK(effective_value(config, "host", {"z1", "c1"}).value == std::optional<std::string>("ms2"));
}

TEST_CASE("scoped weights are checked against the scope's effective host list, both ways") {
    ScopedConfig config;
    config.global = {{"host", "ms1,ms2"}};
    config.overrides[ConfigScope{"z1", ""}] = {{"host", "ms3,ms4"}};

    // The zone's own list, not the global one.
    CHECK(check_scoped_change(config, {"z1", ""}, "agentlb.server.weights", std::string("ms3=2")));
    CHECK(check_scoped_change(config, {"z1", "c1"}, "agentlb.server.weights", std::string("ms4=0")));
    const auto global_address =
        check_scoped_change(config, {"z1", ""}, "agentlb.server.weights", std::string("ms1=2"));
    REQUIRE_FALSE(global_address);
    CHECK_THAT(global_address.error(), Catch::Matchers::StartsWith("agentlb.server.weights: "));
    CHECK_THAT(global_address.error(), Catch::Matchers::Contains("ms1"));
    CHECK_THAT(global_address.error(),
               Catch::Matchers::EndsWith("(in the effective configuration of zone \"z1\")"));

    // Global weights for global addresses: the zone, with its own list, would inherit them.
    const auto inherited = check_scoped_change(config, {}, "agentlb.server.weights", std::string("ms1=2"));
    REQUIRE_FALSE(inherited);
    CHECK_THAT(inherited.error(), Catch::Matchers::Contains("zone \"z1\""));
    CHECK(check_scoped_change(with_change(config, {"z1", ""}, "agentlb.server.weights", std::string("")),
                              {},
                              "agentlb.server.weights",
                              std::string("ms1=2")));

    // A list that drops an address the scope's weights name is refused; so is
    // removing the zone's list under them.
    config.overrides[ConfigScope{"z1", ""}]["agentlb.server.weights"] = "ms3=5";
    const auto dropped = check_scoped_change(config, {"z1", ""}, "host", std::string("ms4"));
    REQUIRE_FALSE(dropped);
    CHECK_THAT(dropped.error(), Catch::Matchers::StartsWith("host: agentlb.server.weights names \"ms3\""));
    CHECK_FALSE(check_scoped_change(config, {"z1", ""}, "host", std::nullopt));
    CHECK(check_scoped_change(config, {"z1", ""}, "host", std::string("ms3,ms5")));
}
