#include "mgmt/cluster_state.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace agentlb;
using namespace agentlb::mgmt;

namespace {

store::ServerRecord server(std::string name, std::string address, std::string state) {
    store::ServerRecord record;
    record.name = std::move(name);
    record.address = std::move(address);
    record.state = std::move(state);
    return record;
}

ClusterSnapshot snapshot_of(std::vector<std::string> hosts,
                            std::string algorithm,
                            std::int64_t interval,
                            std::map<std::string, std::vector<std::int64_t>> ids = {},
                            std::vector<store::ServerRecord> servers = {}) {
    auto snapshot =
        make_snapshot(7, lb::LbSettings{std::move(hosts), std::move(algorithm), interval}, ids, servers);
    REQUIRE(snapshot.ok());
    return std::move(snapshot).value();
}

}  // namespace

TEST_CASE("roundrobin lists follow the design example for hosts 1..4 over M1..M3") {
    const auto snapshot = snapshot_of({"M1", "M2", "M3"}, "roundrobin", 0, {{"default", {1, 2, 3, 4}}});
    using L = std::vector<std::string>;
    CHECK(compute_assignment(snapshot, "default", 1).list == L{"M1", "M2", "M3"});
    CHECK(compute_assignment(snapshot, "default", 2).list == L{"M2", "M3", "M1"});
    CHECK(compute_assignment(snapshot, "default", 3).list == L{"M3", "M1", "M2"});
    CHECK(compute_assignment(snapshot, "default", 4).list == L{"M1", "M2", "M3"});
    // Not yet registered: takes p = number of registered hosts (4 -> rotate by 1).
    CHECK(compute_assignment(snapshot, "default", 9).list == L{"M2", "M3", "M1"});
}

TEST_CASE("an assignment carries the algorithm and the interval and the avoid list") {
    const auto snapshot =
        snapshot_of({"10.0.0.1", "10.0.0.2:9000"},
                    "static",
                    60,
                    {{"z", {5}}},
                    {server("a", "10.0.0.1:8250", "up"), server("b", "10.0.0.2:9000", "down")});
    const auto assignment = compute_assignment(snapshot, "z", 5);
    CHECK(assignment.list == std::vector<std::string>{"10.0.0.1", "10.0.0.2:9000"});
    CHECK(assignment.algorithm == "static");
    CHECK(assignment.interval == 60);
    CHECK(assignment.avoid == std::vector<std::string>{"10.0.0.2:9000"});
}

TEST_CASE("the avoid list names down servers as their `host` entries are written") {
    const std::vector<std::string> hosts{"ms1.example", "10.0.0.2", "[::1]:8300"};
    const auto avoid = avoid_entries(hosts,
                                     {server("ms1", "MS1.example:8250", "down"),
                                      server("ms2", "10.0.0.2:8250", "up"),
                                      server("ms3", "[::1]:8300", "down"),
                                      server("ms4", "10.9.9.9:8250", "down")});
    CHECK(avoid == std::vector<std::string>{"ms1.example", "[::1]:8300"});
    CHECK(avoid_entries(hosts, {}).empty());
}

TEST_CASE("the avoid list names servers that are not up or whose maintenance is requested") {
    const std::vector<std::string> hosts{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"};
    auto requested = server("ms5", "10.0.0.5:8250", "up");
    requested.maintenance = true;  // as the operator's request reads before the state follows
    const auto avoid = avoid_entries(hosts,
                                     {server("ms1", "10.0.0.1:8250", "up"),
                                      server("ms2", "10.0.0.2:8250", "preparing"),
                                      server("ms3", "10.0.0.3:8250", "maintenance"),
                                      server("ms4", "10.0.0.4:8250", "down"),
                                      requested});
    CHECK(avoid == std::vector<std::string>{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"});
    // Cancelled: up again and no longer avoided.
    requested.maintenance = false;
    CHECK(avoid_entries(hosts, {server("ms1", "10.0.0.1:8250", "up"), requested}).empty());
}

TEST_CASE("make_snapshot refuses an unknown algorithm and sorts host ids") {
    CHECK_FALSE(make_snapshot(1, lb::LbSettings{{"a"}, "fastest", 0}, {}, {}).ok());
    auto snapshot = make_snapshot(1, lb::LbSettings{{"a"}, "static", 0}, {{"z", {3, 1, 2}}}, {});
    REQUIRE(snapshot.ok());
    CHECK(snapshot->host_ids_by_zone.at("z") == std::vector<std::int64_t>{1, 2, 3});
    const auto empty = empty_snapshot();
    REQUIRE(empty.algorithm != nullptr);
    CHECK(empty.algorithm->name() == "static");
    CHECK(empty.settings.hosts.empty());
}

TEST_CASE("contains_host finds a host only in its own zone") {
    auto snapshot = make_snapshot(1, lb::LbSettings{{"a"}, "static", 0}, {{"z", {3, 1, 2}}, {"y", {7}}}, {});
    REQUIRE(snapshot.ok());
    CHECK(contains_host(*snapshot, "z", 2));
    CHECK(contains_host(*snapshot, "y", 7));
    CHECK_FALSE(contains_host(*snapshot, "z", 7));
    CHECK_FALSE(contains_host(*snapshot, "y", 2));
    CHECK_FALSE(contains_host(*snapshot, "x", 1));
}

TEST_CASE("heartbeat_expired counts whole missed intervals") {
    CHECK_FALSE(heartbeat_expired(100, 106, 2, 3));
    CHECK(heartbeat_expired(100, 107, 2, 3));
    CHECK_FALSE(heartbeat_expired(100, 100, 2, 3));
}

namespace {

store::HostRecord host_record(std::int64_t id, std::string name, std::string zone) {
    store::HostRecord record;
    record.id = id;
    record.name = std::move(name);
    record.zone = std::move(zone);
    return record;
}

}  // namespace

TEST_CASE("the snapshot's hosts: ids by zone ascending, names in any ASCII case") {
    const std::vector<store::HostRecord> hosts = {
        host_record(5, "kvm-5", "z"), host_record(2, "KVM-2", "z"), host_record(9, "kvm-9", "y")};
    auto ids = host_ids_by_zone_of(hosts);
    CHECK(ids == std::map<std::string, std::vector<std::int64_t>>{{"y", {9}}, {"z", {2, 5}}});
    auto snapshot = make_snapshot(1, lb::LbSettings{{"a"}, "static", 0}, std::move(ids), {});
    REQUIRE(snapshot.ok());
    snapshot->hosts_by_name = hosts_by_name_of(hosts);

    // Like the store's find_host: `kvm-2` is `KVM-2`.
    for (const std::string name : {"kvm-2", "KVM-2", "Kvm-2"}) {
        const KnownHost* known = find_known_host(*snapshot, name);
        INFO(name);
        REQUIRE(known != nullptr);
        CHECK(known->id == 2);
        CHECK(known->zone == "z");
    }
    CHECK(find_known_host(*snapshot, "kvm-9")->zone == "y");
    CHECK(find_known_host(*snapshot, "kvm-1") == nullptr);
    CHECK(find_known_host(*snapshot, "") == nullptr);
    CHECK(find_known_host(empty_snapshot(), "kvm-2") == nullptr);
    CHECK(empty_snapshot().store_unreachable_limit == lb::kDefaultStoreUnreachableLimit);
}

TEST_CASE("each host's assignment uses its cluster's, else its zone's, else the global settings") {
    auto snapshot = snapshot_of(
        {"M1", "M2", "M3"}, "static", 0, {{"east", {1, 2, 3}}, {"west", {4}}}, {server("ms3", "M3", "down")});
    lb::ScopedConfig config;
    config.global = {{"host", "M1,M2,M3"}};
    config.overrides[lb::ConfigScope{"east", ""}] = {{"host", "M3,M2"},
                                                     {"indirect.agent.lb.check.interval", "9"}};
    config.overrides[lb::ConfigScope{"east", "c1"}] = {{"indirect.agent.lb.algorithm", "roundrobin"}};
    config.overrides[lb::ConfigScope{"west", "bad"}] = {{"indirect.agent.lb.check.interval", "soon"}};
    auto [places, refused] = places_of(config, snapshot.servers);
    REQUIRE(refused.size() == 1);
    CHECK_THAT(refused[0], Catch::Matchers::StartsWith("cluster \"bad\" of zone \"west\": "));
    snapshot.places = std::move(places);
    using L = std::vector<std::string>;

    // Zone east: its own list and interval; M3 is down there too.
    const auto zone = compute_assignment(snapshot, lb::ConfigScope{"east", ""}, 2);
    CHECK(zone.list == L{"M3", "M2"});
    CHECK(zone.interval == 9);
    CHECK(zone.avoid == L{"M3"});
    // Cluster c1 of east: roundrobin over the zone's list, among the zone's host ids.
    const auto cluster = compute_assignment(snapshot, lb::ConfigScope{"east", "c1"}, 2);
    CHECK(cluster.algorithm == "roundrobin");
    CHECK(cluster.list == L{"M2", "M3"});
    CHECK(cluster.interval == 9);
    CHECK(settings_for(snapshot, {"east", "c1"}).algorithm->name() == "roundrobin");
    // Another cluster of east gets the zone's; west and its refused cluster the global ones.
    CHECK(compute_assignment(snapshot, lb::ConfigScope{"east", "c2"}, 2) == zone);
    CHECK(compute_assignment(snapshot, lb::ConfigScope{"west", "bad"}, 4).list == L{"M1", "M2", "M3"});
    CHECK(compute_assignment(snapshot, lb::ConfigScope{"west", ""}, 4) ==
          compute_assignment(snapshot, "west", 4));
}

TEST_CASE("hosts are found by id with their zone and cluster") {
    store::HostRecord a;
    a.id = 3;
    a.name = "kvm1";
    a.zone = "east";
    a.cluster = "c1";
    auto snapshot = snapshot_of({"M1"}, "static", 0);
    snapshot.hosts_by_id = hosts_by_id_of({a});
    const KnownHost* found = find_host_by_id(snapshot, 3);
    REQUIRE(found != nullptr);
    CHECK(found->zone == "east");
    CHECK(found->cluster == "c1");
    CHECK(find_host_by_id(snapshot, 4) == nullptr);
    CHECK(hosts_by_name_of({a}).at("kvm1").cluster == "c1");
}

TEST_CASE("a place's weights reach the hash lists of its hosts only") {
    auto snapshot = snapshot_of({"M1", "M2"}, "hash", 0, {{"east", {1}}, {"west", {2}}});
    lb::ScopedConfig config;
    config.global = {{"host", "M1,M2"}, {"indirect.agent.lb.algorithm", "hash"}};
    config.overrides[lb::ConfigScope{"east", ""}] = {{"agentlb.server.weights", "M1=0"}};
    auto [places, refused] = places_of(config, {});
    CHECK(refused.empty());
    snapshot.places = std::move(places);
    CHECK(settings_for(snapshot, {"east", ""}).weights == lb::Weights{{"M1", 0}});
    CHECK(settings_for(snapshot, {"west", ""}).weights.empty());
    // Weight 0 puts M1 last for every east host.
    for (std::int64_t id = 1; id <= 20; ++id) {
        CHECK(compute_assignment(snapshot, lb::ConfigScope{"east", "c9"}, id).list ==
              std::vector<std::string>{"M2", "M1"});
    }
}
