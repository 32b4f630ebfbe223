#include "common/store/store.hpp"
#include "tests/common/store/store_test_support.hpp"

#include <catch2/catch.hpp>

using namespace agentlb::store;
using namespace agentlb::store::test;

TEST_CASE_METHOD(StoreFixture, "set_config stores a value, returns the old one and bumps the generation") {
    CHECK_FALSE(store->get_config("host").has_value());
    const std::int64_t g0 = store->generation();

    auto first = store->set_config("host", "ms1,ms2:9000");
    REQUIRE(first);
    CHECK_FALSE(first->has_value());
    CHECK(store->generation() == g0 + 1);

    auto second = store->set_config("host", "ms3");
    REQUIRE(second);
    CHECK(*second == std::optional<std::string>("ms1,ms2:9000"));
    CHECK(store->generation() == g0 + 2);

    REQUIRE(store->set_config("indirect.agent.lb.check.interval", "60"));
    CHECK(store->get_config("host") == std::optional<std::string>("ms3"));
    CHECK(store->list_config() ==
          std::map<std::string, std::string>{{"host", "ms3"}, {"indirect.agent.lb.check.interval", "60"}});
}

TEST_CASE_METHOD(StoreFixture,
                 "a refused config value leaves the stored value and the generation unchanged") {
    REQUIRE(store->set_config("indirect.agent.lb.algorithm", "roundrobin"));
    REQUIRE(store->set_config("host", "ms1,ms2"));
    const std::int64_t g0 = store->generation();

    auto bad_algorithm = store->set_config("indirect.agent.lb.algorithm", "fastest");
    REQUIRE_FALSE(bad_algorithm);
    CHECK_THAT(bad_algorithm.error(), Catch::Matchers::Contains("fastest"));

    auto duplicate_host = store->set_config("host", "ms1,ms1:8250");
    REQUIRE_FALSE(duplicate_host);

    auto negative_interval = store->set_config("indirect.agent.lb.check.interval", "-5");
    REQUIRE_FALSE(negative_interval);

    auto unknown_key = store->set_config("no.such.key", "1");
    REQUIRE_FALSE(unknown_key);
    CHECK_THAT(unknown_key.error(), Catch::Matchers::Contains("no.such.key"));

    CHECK(store->get_config("indirect.agent.lb.algorithm") == std::optional<std::string>("roundrobin"));
    CHECK(store->get_config("host") == std::optional<std::string>("ms1,ms2"));
    CHECK_FALSE(store->get_config("indirect.agent.lb.check.interval").has_value());
    CHECK_FALSE(store->get_config("no.such.key").has_value());
    CHECK(store->list_config().size() == 2);
    CHECK(store->generation() == g0);
}

TEST_CASE_METHOD(StoreFixture, "the CA certificate is stored once and replaced by a later put") {
    CHECK_FALSE(store->ca_certificate().has_value());
    store->put_ca_certificate("PEM 1", "sha256:01");
    store->put_ca_certificate("PEM 2", "sha256:02");
    auto ca = store->ca_certificate();
    REQUIRE(ca.has_value());
    CHECK(ca->first == "PEM 2");
    CHECK(ca->second == "sha256:02");
}

TEST_CASE_METHOD(StoreFixture, "weights are checked against the stored host, and host against the weights") {
    auto without_host = store->set_config("agentlb.server.weights", "ms1=2");
    REQUIRE_FALSE(without_host);
    CHECK_THAT(without_host.error(),
               Catch::Matchers::StartsWith("agentlb.server.weights: \"ms1\" is not in `host`"));

    REQUIRE(store->set_config("host", "ms1,ms2:9000,ms3"));
    REQUIRE(store->set_config("agentlb.server.weights", "ms1=2, ms2:9000=0"));
    const std::int64_t g0 = store->generation();

    auto not_in_host = store->set_config("agentlb.server.weights", "ms1=2,ms4=1");
    REQUIRE_FALSE(not_in_host);
    CHECK_THAT(not_in_host.error(), Catch::Matchers::Contains("\"ms4\" is not in `host`"));

    // A new `host` that drops (or respells) a weighted address would leave
    // a weight naming nothing.
    auto orphan = store->set_config("host", "ms1,ms3");
    REQUIRE_FALSE(orphan);
    CHECK(orphan.error() ==
          "host: agentlb.server.weights names \"ms2:9000\", which this value does not hold as written; "
          "change agentlb.server.weights first");
    CHECK(store->set_config("host", "ms1,ms2:9000 , MS3:8250").ok());
    CHECK(store->generation() == g0 + 1);
    REQUIRE_FALSE(store->set_config("host", "MS1:8250,ms2:9000"));

    REQUIRE(store->set_config("agentlb.server.weights", ""));
    REQUIRE(store->set_config("host", "ms3"));
    CHECK(store->get_config("agentlb.server.weights") == std::optional<std::string>(""));
}
