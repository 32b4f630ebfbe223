// Configuration per zone and per cluster, hosts' clusters and host moves
// (schema v5), on both backends.

#include "common/store/store.hpp"
#include "tests/common/store/store_test_support.hpp"

#include <catch2/catch.hpp>

using namespace agentlb::store;
using namespace agentlb::store::test;
using agentlb::lb::ConfigScope;

TEST_CASE_METHOD(StoreFixture, "a scoped value is stored beside the global one and bumps the generation") {
    REQUIRE(store->set_config("host", "ms1,ms2"));
    const auto g0 = store->generation();

    auto zone = store->set_scoped_config(ConfigScope{"z1", ""}, "host", "ms3");
    REQUIRE(zone);
    CHECK_FALSE(zone->has_value());
    auto cluster =
        store->set_scoped_config(ConfigScope{"z1", "c1"}, "indirect.agent.lb.algorithm", "shuffle");
    REQUIRE(cluster);
    auto again = store->set_scoped_config(ConfigScope{"z1", ""}, "host", "ms4");
    REQUIRE(again);
    CHECK(*again == std::optional<std::string>("ms3"));
    CHECK(store->generation() == g0 + 3);

    // Readers of the global configuration see only the global values.
    CHECK(store->list_config() == std::map<std::string, std::string>{{"host", "ms1,ms2"}});
    CHECK(store->get_config("host") == std::optional<std::string>("ms1,ms2"));

    const auto config = store->scoped_config();
    CHECK(config.global == std::map<std::string, std::string>{{"host", "ms1,ms2"}});
    REQUIRE(config.overrides.size() == 2);
    CHECK(config.overrides.at(ConfigScope{"z1", ""}) == std::map<std::string, std::string>{{"host", "ms4"}});
    CHECK(config.overrides.at(ConfigScope{"z1", "c1"}) ==
          std::map<std::string, std::string>{{"indirect.agent.lb.algorithm", "shuffle"}});
}

TEST_CASE_METHOD(StoreFixture, "unset removes an override once, and refuses the global scope") {
    REQUIRE(store->set_scoped_config(ConfigScope{"z1", "c1"}, "indirect.agent.lb.check.interval", "30"));
    const auto g0 = store->generation();
    auto removed = store->unset_scoped_config(ConfigScope{"z1", "c1"}, "indirect.agent.lb.check.interval");
    REQUIRE(removed);
    CHECK(*removed == std::optional<std::string>("30"));
    CHECK(store->generation() == g0 + 1);
    CHECK(store->scoped_config().overrides.empty());

    // Nothing there: nothing written, no generation bump.
    auto nothing = store->unset_scoped_config(ConfigScope{"z1", "c1"}, "indirect.agent.lb.check.interval");
    REQUIRE(nothing);
    CHECK_FALSE(nothing->has_value());
    CHECK(store->generation() == g0 + 1);

    REQUIRE(store->set_config("host", "ms1"));
    const auto global = store->unset_scoped_config(ConfigScope{}, "host");
    REQUIRE_FALSE(global);
    CHECK_THAT(global.error(),
               Catch::Matchers::Contains("only a value set per zone or cluster can be removed"));
    CHECK(store->get_config("host") == std::optional<std::string>("ms1"));
}

TEST_CASE_METHOD(StoreFixture, "refused scoped values change nothing") {
    const auto g0 = store->generation();
    const auto server_only = store->set_scoped_config(ConfigScope{"z1", ""}, "agentlb.drain.rate", "10");
    REQUIRE_FALSE(server_only);
    CHECK_THAT(server_only.error(),
               Catch::Matchers::StartsWith("agentlb.drain.rate: cannot be set per zone"));
    const auto bad =
        store->set_scoped_config(ConfigScope{"z1", "c1"}, "indirect.agent.lb.algorithm", "fastest");
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error(), Catch::Matchers::Contains("fastest"));
    const auto orphan = store->set_scoped_config(ConfigScope{"", "c1"}, "host", "ms1");
    REQUIRE_FALSE(orphan);
    CHECK_THAT(orphan.error(), Catch::Matchers::Contains("needs its zone"));
    const auto spaced = store->set_scoped_config(ConfigScope{"z 1", ""}, "host", "ms1");
    REQUIRE_FALSE(spaced);
    CHECK(store->scoped_config().overrides.empty());
    CHECK(store->generation() == g0);
}

TEST_CASE_METHOD(StoreFixture,
                 "a token's cluster is given to the host it enrols, and re-enrolment follows the token") {
    store->create_token(TokenSpec{"t1", std::string("z1"), std::nullopt, 100, 1, std::string("c1")});
    auto first = store->redeem_token(RedeemRequest{"t1", "kvm1", std::nullopt, 5}, issuer.fn());
    REQUIRE(first);
    CHECK(first->host.zone == "z1");
    CHECK(first->host.cluster == "c1");
    CHECK(store->find_host("kvm1")->cluster == "c1");
    CHECK(store->list_hosts().at(0).cluster == "c1");
    CHECK(store->find_host_by_id(first->host.id)->cluster == "c1");

    // Same zone, token without a cluster: the host keeps its cluster.
    store->create_token(TokenSpec{"t2", std::string("z1"), std::string("kvm1"), 100, 1});
    auto same_zone = store->redeem_token(RedeemRequest{"t2", "kvm1", std::nullopt, 6}, issuer.fn());
    REQUIRE(same_zone);
    CHECK(store->find_host("kvm1")->cluster == "c1");

    // Another zone: the old cluster belonged to the old zone.
    store->create_token(TokenSpec{"t3", std::string("z2"), std::string("kvm1"), 100, 1});
    auto other_zone = store->redeem_token(RedeemRequest{"t3", "kvm1", std::nullopt, 7}, issuer.fn());
    REQUIRE(other_zone);
    CHECK(other_zone->host.cluster.empty());
    CHECK(store->find_host("kvm1")->zone == "z2");
    CHECK(store->find_host("kvm1")->cluster.empty());

    // A host enrolled without a cluster has none.
    CHECK(enroll("kvm2").cluster.empty());
}

TEST_CASE_METHOD(StoreFixture, "move_host changes a host's zone and cluster and bumps the generation") {
    const HostRecord host = enroll("kvm1", std::string("z1"));
    const auto g0 = store->generation();
    auto moved = store->move_host("KVM1", ConfigScope{"z2", "c9"});
    REQUIRE(moved);
    CHECK(moved->zone == "z1");  // as it was
    CHECK(store->generation() == g0 + 1);
    const auto now = store->find_host("kvm1");
    CHECK(now->zone == "z2");
    CHECK(now->cluster == "c9");
    CHECK(now->id == host.id);
    CHECK(store->host_ids_in_zone("z2") == std::vector<std::int64_t>{host.id});
    CHECK(store->host_ids_in_zone("z1").empty());

    // The same place again: nothing written.
    REQUIRE(store->move_host("kvm1", ConfigScope{"z2", "c9"}));
    CHECK(store->generation() == g0 + 1);

    const auto unknown = store->move_host("kvm9", ConfigScope{"z2", ""});
    REQUIRE_FALSE(unknown);
    CHECK_THAT(unknown.error(), Catch::Matchers::Contains("no host named \"kvm9\""));
    const auto no_zone = store->move_host("kvm1", ConfigScope{"", "c1"});
    REQUIRE_FALSE(no_zone);
    CHECK_THAT(no_zone.error(), Catch::Matchers::Contains("a host needs a zone"));
    const auto bad_cluster = store->move_host("kvm1", ConfigScope{"z2", "c\n1"});
    REQUIRE_FALSE(bad_cluster);
    CHECK(store->find_host("kvm1")->cluster == "c9");
    CHECK(store->generation() == g0 + 1);
}

TEST_CASE("a copied store keeps the overrides, the hosts' clusters and the tokens' clusters") {
    StoreFixture source;
    REQUIRE(source.store->set_config("host", "ms1"));
    REQUIRE(source.store->set_scoped_config(ConfigScope{"z1", ""}, "host", "ms2"));
    REQUIRE(
        source.store->set_scoped_config(ConfigScope{"z1", "c1"}, "indirect.agent.lb.check.interval", "9"));
    source.store->create_token(TokenSpec{"t1", std::string("z1"), std::nullopt, 100, 1, std::string("c1")});
    REQUIRE(source.store->redeem_token(RedeemRequest{"t1", "kvm1", std::nullopt, 5}, source.issuer.fn()));
    source.store->create_token(TokenSpec{"t2", std::string("z1"), std::nullopt, 100, 1, std::string("c2")});

    StoreFixture target;
    REQUIRE(target.store->import_contents(source.store->export_contents()));
    CHECK(target.store->scoped_config().global == source.store->scoped_config().global);
    CHECK(target.store->scoped_config().overrides == source.store->scoped_config().overrides);
    CHECK(target.store->find_host("kvm1")->cluster == "c1");
    auto redeemed =
        target.store->redeem_token(RedeemRequest{"t2", "kvm2", std::nullopt, 6}, target.issuer.fn());
    REQUIRE(redeemed);
    CHECK(redeemed->host.cluster == "c2");
}

TEST_CASE_METHOD(StoreFixture, "scoped weights are checked against the scope's host list inside the write") {
    REQUIRE(store->set_config("host", "ms1,ms2"));
    REQUIRE(store->set_scoped_config(ConfigScope{"z1", ""}, "host", "ms3,ms4"));
    REQUIRE(store->set_scoped_config(ConfigScope{"z1", "c1"}, "agentlb.server.weights", "ms3=4"));
    const auto g0 = store->generation();

    const auto foreign = store->set_scoped_config(ConfigScope{"z1", ""}, "agentlb.server.weights", "ms1=2");
    REQUIRE_FALSE(foreign);
    CHECK_THAT(foreign.error(), Catch::Matchers::Contains("ms1"));
    // The zone's list may not drop what its cluster weighs.
    const auto dropped = store->set_scoped_config(ConfigScope{"z1", ""}, "host", "ms4");
    REQUIRE_FALSE(dropped);
    CHECK_THAT(dropped.error(), Catch::Matchers::Contains("cluster \"c1\" of zone \"z1\""));
    CHECK(store->generation() == g0);
    CHECK(store->scoped_config().overrides.at(ConfigScope{"z1", ""}).at("host") == "ms3,ms4");
}
