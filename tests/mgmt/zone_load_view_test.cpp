// The load-aware rebalancer's view of a zone (mgmt/zone_load_view.hpp):
// which zones it judges, and the servers and agents it sees there.

#include "mgmt/zone_load_view.hpp"

#include <catch2/catch.hpp>

using namespace agentlb;
using namespace agentlb::mgmt;

namespace {

store::ServerRecord server(std::string name, std::string address, bool up = true) {
    store::ServerRecord record;
    record.name = std::move(name);
    record.address = std::move(address);
    record.state = up ? std::string(store::kServerUp) : std::string(store::kServerDown);
    return record;
}

store::HostRecord host(std::int64_t id, std::string zone, std::optional<std::string> on) {
    store::HostRecord record;
    record.id = id;
    record.name = "h" + std::to_string(id);
    record.zone = std::move(zone);
    record.connected_to = std::move(on);
    return record;
}

ClusterSnapshot snapshot_of(const std::vector<store::ServerRecord>& servers) {
    auto built = make_snapshot(3,
                               lb::LbSettings{{"ms1:9001", "ms2:9002", "ms3:9003"}, "static", 0},
                               {{"east", {1, 2, 3}}, {"west", {4}}},
                               servers);
    REQUIRE(built.ok());
    built->weights = {{"ms2:9002", 3}};
    return std::move(built).value();
}

}  // namespace

TEST_CASE("zone_work: only zones whose keys may act, their servers by `host`, and their connected agents") {
    const std::vector<store::ServerRecord> servers = {
        server("ms1", "ms1:9001"), server("ms2", "ms2:9002"), server("ms3", "ms3:9003", false)};
    const auto snapshot = snapshot_of(servers);
    lb::ScopedConfig config;
    CHECK_FALSE(rebalancer_may_act(config));
    CHECK(zone_work(snapshot, config, {}, {}).empty());

    config.overrides[{"east", ""}] = {{"agentlb.rebalance.behaviour", "low"}};
    CHECK(rebalancer_may_act(config));
    const std::vector<store::HostRecord> hosts = {host(1, "east", "ms1"),
                                                  host(2, "east", std::nullopt),
                                                  host(3, "east", "gone"),
                                                  host(4, "west", "ms1")};
    const auto work = zone_work(snapshot, config, hosts, {{1, 1234}});
    REQUIRE(work.size() == 1);
    CHECK(work[0].zone == "east");
    CHECK(work[0].settings.behaviour == lb::Behaviour::low);
    REQUIRE(work[0].load.servers.size() == 3);
    CHECK(work[0].load.servers[0].address == "ms1:9001");
    CHECK(work[0].load.servers[1].weight == 3);
    CHECK(work[0].load.servers[0].counts);
    CHECK_FALSE(work[0].load.servers[2].counts);  // down: avoided
    // h2 has no session, h3's server is not registered: only h1.
    REQUIRE(work[0].load.agents.size() == 1);
    const auto& agent = work[0].load.agents[0];
    CHECK(agent.host_id == 1);
    CHECK(agent.current == "ms1:9001");
    CHECK(agent.list == std::vector<std::string>{"ms1:9001", "ms2:9002", "ms3:9003"});
    CHECK(agent.rtt == std::chrono::microseconds(1234));

    // A corrupt stored value leaves its zone out.
    config.overrides[{"east", ""}] = {{"agentlb.rebalance.behaviour", "sometimes"}};
    CHECK(zone_work(snapshot, config, hosts, {}).empty());
}
