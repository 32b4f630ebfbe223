#include "mgmt/zone_balance.hpp"

#include "mgmt/zone_metrics.hpp"
#include "tests/support/net_probe.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <sstream>

using namespace agentlb;
using namespace agentlb::mgmt;
using agentlb::test::metric_value;

namespace {

store::ServerRecord server(std::string name, std::string state = "up", bool maintenance = false) {
    store::ServerRecord record;
    record.address = "127.0.0.1:" + std::to_string(9000 + name.back());
    record.name = std::move(name);
    record.state = std::move(state);
    record.maintenance = maintenance;
    return record;
}

}  // namespace

TEST_CASE("zone imbalance: max over mean, 1 when even, 0 without agents") {
    const std::vector<std::string> usable{"ms1", "ms2", "ms3"};
    CHECK(zone_imbalance({{"ms1", 10}, {"ms2", 10}, {"ms3", 10}}, usable) == 1.0);
    // All on one of three servers: 30 / (30 / 3).
    CHECK(zone_imbalance({{"ms1", 30}}, usable) == 3.0);
    CHECK(zone_imbalance({{"ms1", 20}, {"ms2", 10}}, usable) == 2.0);
    CHECK(zone_imbalance({}, usable) == 0.0);
    CHECK(zone_imbalance({{"ms1", 0}}, usable) == 0.0);
    CHECK(zone_imbalance({{"ms1", 4}}, {}) == 1.0);
}

TEST_CASE("zone imbalance: a server in maintenance does not count, one still holding agents does") {
    // ms3 in maintenance is not usable and holds none: two servers, even.
    CHECK(zone_imbalance({{"ms1", 15}, {"ms2", 15}, {"ms3", 0}}, {"ms1", "ms2"}) == 1.0);
    // ms1 draining (not usable) still holds 10: it counts until they have left.
    CHECK(zone_imbalance({{"ms1", 10}, {"ms2", 5}, {"ms3", 5}}, {"ms2", "ms3"}) == 1.5);
}

TEST_CASE("the zone metrics' exporter is the lowest-named server that is up and not asked into maintenance") {
    CHECK(zone_metrics_exporter({server("ms2"), server("ms1"), server("ms3")}) == "ms1");
    CHECK(zone_metrics_exporter({server("ms1", "preparing", true), server("ms3"), server("ms2")}) == "ms2");
    CHECK(zone_metrics_exporter({server("ms1", "down"), server("ms2", "maintenance", true), server("ms3")}) ==
          "ms3");
    // A flag not yet turned into a state: maintenance is on its way.
    CHECK(zone_metrics_exporter({server("ms1", "up", true), server("ms2")}) == "ms2");
    // Byte order: upper case sorts first.
    CHECK(zone_metrics_exporter({server("ms1"), server("MS9")}) == "MS9");
    CHECK_FALSE(zone_metrics_exporter({server("ms1", "down")}).has_value());
    CHECK_FALSE(zone_metrics_exporter({}).has_value());
}

TEST_CASE("usable servers: up, not in maintenance, and named in host when it names any") {
    const std::vector<store::ServerRecord> servers{
        server("ms1"), server("ms2", "maintenance", true), server("ms3"), server("ms4", "down")};
    CHECK(usable_servers(servers, {}) == std::vector<std::string>{"ms1", "ms3"});
    // host names ms1 (address as written differently) and ms2, not ms3.
    const std::vector<std::string> hosts{"127.0.0.1:9049", "127.0.0.1:9050"};
    CHECK(usable_servers(servers, hosts) == std::vector<std::string>{"ms1"});
    // A host list naming no registered server cannot tell: every server up.
    CHECK(usable_servers(servers, {"10.0.0.1"}) == std::vector<std::string>{"ms1", "ms3"});
}

TEST_CASE("zone balances: every zone, every usable server shown, zeros included") {
    const std::vector<store::ConnectedCount> counts{{"z1", "ms1", 4}, {"z1", "ms2", 2}, {"z2", "ms9", 3}};
    const auto balances = zone_balances(counts, {"z1", "z2", "z3"}, {"ms1", "ms2", "ms3"});
    REQUIRE(balances.size() == 3);
    CHECK(balances.at("z1").agents == ServerCounts{{"ms1", 4}, {"ms2", 2}, {"ms3", 0}});
    CHECK(balances.at("z1").imbalance == 2.0);  // 4 / (6 / 3)
    // ms9 is not usable but holds agents: shown and counted (4 servers).
    CHECK(balances.at("z2").agents == ServerCounts{{"ms1", 0}, {"ms2", 0}, {"ms3", 0}, {"ms9", 3}});
    CHECK(balances.at("z2").imbalance == 4.0);
    CHECK(balances.at("z3").agents == ServerCounts{{"ms1", 0}, {"ms2", 0}, {"ms3", 0}});
    CHECK(balances.at("z3").imbalance == 0.0);
}

TEST_CASE("the zone series render as gauges with escaped labels, one TYPE per family") {
    const std::vector<store::ConnectedCount> counts{{"z\"1", "ms1", 3}, {"z2", "ms2", 1}};
    const auto text = render_zone_series(zone_balances(counts, {}, {"ms1", "ms2"}));
    CHECK(metric_value(text, "agentlb_zone_agents{zone=\"z\\\"1\",server=\"ms1\"}") == 3.0);
    CHECK(metric_value(text, "agentlb_zone_agents{zone=\"z\\\"1\",server=\"ms2\"}") == 0.0);
    CHECK(metric_value(text, "agentlb_zone_agents{zone=\"z2\",server=\"ms2\"}") == 1.0);
    CHECK(metric_value(text, "agentlb_zone_imbalance{zone=\"z\\\"1\"}") == 2.0);
    CHECK(metric_value(text, "agentlb_zone_imbalance{zone=\"z2\"}") == 2.0);

    // The exposition format's rules a scraper checks: a family's HELP and
    // TYPE come once, before its samples, which are contiguous and unique.
    std::istringstream lines(text);
    std::string line;
    std::set<std::string> typed;
    std::set<std::string> seen;
    std::string family;
    while (std::getline(lines, line)) {
        if (line.rfind("# TYPE ", 0) == 0) {
            family = line.substr(7, line.find(' ', 7) - 7);
            CHECK(line.substr(line.rfind(' ') + 1) == "gauge");
            CHECK(typed.insert(family).second);
            continue;
        }
        if (line.rfind("#", 0) == 0) {
            continue;
        }
        CHECK(line.rfind(family + "{", 0) == 0);
        CHECK(seen.insert(line.substr(0, line.rfind(' '))).second);
    }
    CHECK(typed == std::set<std::string>{"agentlb_zone_agents", "agentlb_zone_imbalance"});
    CHECK(render_zone_series({}).empty());
}

TEST_CASE("zone metrics: shown while fresh, nothing once cleared or stale") {
    ZoneMetrics metrics;
    const auto now = ZoneMetrics::Clock::now();
    CHECK(metrics.render(now).empty());
    metrics.set("agentlb_zone_imbalance{zone=\"z\"} 1\n", now);
    CHECK(metrics.render(now + std::chrono::seconds(1)) == "agentlb_zone_imbalance{zone=\"z\"} 1\n");
    CHECK(metrics.render(now + kZoneMetricsStaleAfter + std::chrono::seconds(1)).empty());
    metrics.clear();
    CHECK(metrics.render(now).empty());
}
