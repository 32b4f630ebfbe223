// preview's computation and rendering, without a store.

#include "common/lb/algorithm.hpp"
#include "tools/agentlbctl/preview.hpp"
#include "tools/agentlbctl/preview_command.hpp"
#include "tools/agentlbctl/rebalance_command.hpp"

#include <catch2/catch.hpp>

using namespace agentlb::ctl;
using List = std::vector<std::string>;

namespace {

const agentlb::lb::Algorithm* algorithm(std::string_view name) {
    auto found = agentlb::lb::find_algorithm(name);
    REQUIRE(found.ok());
    return *found;
}

PreviewInput ids_input(std::string_view algorithm_name, std::vector<std::int64_t> ids, bool new_host) {
    PreviewInput input;
    input.ms_list = {"M1", "M2", "M3"};
    input.algorithm = algorithm(algorithm_name);
    for (std::int64_t id : ids) {
        input.hosts.push_back({id, "", ""});
    }
    input.new_host = new_host;
    return input;
}

}  // namespace

TEST_CASE("roundrobin preview matches DESIGN.md's example (M1..M3, hosts 1..4)") {
    const Preview preview = compute_preview(ids_input("roundrobin", {1, 2, 3, 4}, true));
    REQUIRE(preview.zones.size() == 1);
    const auto& hosts = preview.zones[0].hosts;
    REQUIRE(hosts.size() == 4);
    CHECK(hosts[0].list == List{"M1", "M2", "M3"});
    CHECK(hosts[1].list == List{"M2", "M3", "M1"});
    CHECK(hosts[2].list == List{"M3", "M1", "M2"});
    CHECK(hosts[3].list == List{"M1", "M2", "M3"});
    // A fifth host takes position 4: rotated by 4 mod 3 = 1.
    REQUIRE(preview.zones[0].new_host_list);
    CHECK(*preview.zones[0].new_host_list == List{"M2", "M3", "M1"});
    CHECK(preview.preferred ==
          std::vector<std::pair<std::string, std::int64_t>>{{"M1", 2}, {"M2", 1}, {"M3", 1}});

    CHECK(render_preview(preview, false, "roundrobin") ==
          "1: M1,M2,M3\n"
          "2: M2,M3,M1\n"
          "3: M3,M1,M2\n"
          "4: M1,M2,M3\n"
          "new: M2,M3,M1\n"
          "preferred: M1=2 M2=1 M3=1\n");
}

TEST_CASE("positions, not id values, decide: gaps after removals do not matter") {
    const Preview preview = compute_preview(ids_input("roundrobin", {10, 5, 1}, false));
    const auto& hosts = preview.zones.at(0).hosts;
    REQUIRE(hosts.size() == 3);
    CHECK(hosts[0].host.id == 1);
    CHECK(hosts[1].host.id == 5);
    CHECK(hosts[2].host.id == 10);
    CHECK(hosts[2].list == List{"M3", "M1", "M2"});
    CHECK_FALSE(preview.zones[0].new_host_list.has_value());
}

TEST_CASE("static gives every host the list unchanged and all prefer the first server") {
    const Preview preview = compute_preview(ids_input("static", {1, 2, 3}, false));
    for (const auto& entry : preview.zones.at(0).hosts) {
        CHECK(entry.list == List{"M1", "M2", "M3"});
    }
    CHECK(preview.preferred ==
          std::vector<std::pair<std::string, std::int64_t>>{{"M1", 3}, {"M2", 0}, {"M3", 0}});
}

TEST_CASE("shuffle lists hold every server once - the counts add up to the hosts") {
    const Preview preview = compute_preview(ids_input("shuffle", {1, 2, 3, 4, 5}, false));
    std::int64_t total = 0;
    for (const auto& [server, count] : preview.preferred) {
        total += count;
    }
    CHECK(total == 5);
    for (const auto& entry : preview.zones.at(0).hosts) {
        List sorted = entry.list;
        std::sort(sorted.begin(), sorted.end());
        CHECK(sorted == List{"M1", "M2", "M3"});
    }
    CHECK_THAT(render_preview(preview, false, "shuffle"), Catch::Contains("note: shuffle"));
}

TEST_CASE("registered hosts are grouped per zone - positions count within the zone") {
    PreviewInput input;
    input.ms_list = {"M1", "M2"};
    input.algorithm = algorithm("roundrobin");
    input.hosts = {{1, "h1", "east"}, {2, "h2", "west"}, {3, "h3", "east"}, {4, "h4", "west"}};
    input.new_host = true;
    const Preview preview = compute_preview(input);
    REQUIRE(preview.zones.size() == 2);
    CHECK(preview.zones[0].zone == "east");
    CHECK(preview.zones[1].zone == "west");
    CHECK(preview.zones[0].hosts[1].host.name == "h3");
    CHECK(preview.zones[0].hosts[1].list == List{"M2", "M1"});
    CHECK(preview.zones[1].hosts[0].list == List{"M1", "M2"});
    CHECK(*preview.zones[1].new_host_list == List{"M1", "M2"});
    CHECK(render_preview(preview, true, "roundrobin") ==
          "zone east:\n"
          "  1 h1: M1,M2\n"
          "  3 h3: M2,M1\n"
          "  new: M1,M2\n"
          "zone west:\n"
          "  2 h2: M1,M2\n"
          "  4 h4: M2,M1\n"
          "  new: M1,M2\n"
          "preferred: M1=2 M2=2\n");
}

TEST_CASE("with no hosts at all, --new-host still shows the first host's list") {
    PreviewInput input;
    input.ms_list = {"M1", "M2", "M3"};
    input.algorithm = algorithm("roundrobin");
    input.new_host = true;
    input.zone_when_empty = "default";
    const Preview preview = compute_preview(input);
    REQUIRE(preview.zones.size() == 1);
    CHECK(preview.zones[0].zone == "default");
    CHECK(*preview.zones[0].new_host_list == List{"M1", "M2", "M3"});
}

TEST_CASE("host ids: ascending result - bad entries refused and named") {
    auto ids = parse_host_ids("10, 1,5");
    REQUIRE(ids.ok());
    CHECK(*ids == std::vector<std::int64_t>{1, 5, 10});

    const std::vector<std::pair<std::string, std::string>> refused = {
        {"", "entry 1 is empty"},
        {"1,,2", "entry 2 is empty"},
        {"1,2,", "entry 3 is empty"},
        {"1,0", "entry 2: \"0\" is not positive"},
        {"-1", "negative"},
        {"1,abc", "not a whole number"},
        {"3,3", "id 3 is given twice"},
    };
    for (const auto& [text, reason] : refused) {
        INFO(text);
        auto parsed = parse_host_ids(text);
        REQUIRE_FALSE(parsed.ok());
        CHECK_THAT(parsed.error(), Catch::StartsWith("--host-ids") && Catch::Contains(reason));
    }
}

TEST_CASE("plan_rebalance: agents on an up server move to the first up server of their list") {
    using agentlb::store::HostRecord;
    using agentlb::store::ServerRecord;
    const std::int64_t now = 1000;
    PreviewInput input;
    input.ms_list = {"a", "b", "c"};
    input.algorithm = algorithm("static");
    for (std::int64_t id = 1; id <= 5; ++id) {
        input.hosts.push_back({id, "h" + std::to_string(id), "z"});
    }
    const Preview preview = compute_preview(input);
    std::vector<ServerRecord> servers{{"msa", "a:8250", "up", now, 0, 0},
                                      {"msb", "b:8250", "up", now, 0, 0},
                                      {"msc", "c:8250", "up", now - 60, 0, 0}};  // stale: down
    std::vector<HostRecord> hosts{{1, "h1", "z", "msb", now, 0},
                                  {2, "h2", "z", "msa", now, 0},
                                  {3, "h3", "z", "msc", now, 0},        // on a stale server: not listed
                                  {4, "h4", "z", "gone", now, 0},       // names no registered server
                                  {5, "h5", "z", std::nullopt, 0, 0}};  // not connected
    auto moves = plan_rebalance(preview, hosts, servers, now);
    REQUIRE(moves.size() == 1);
    CHECK(moves[0].id == 1);
    CHECK(moves[0].host == "h1");
    CHECK(moves[0].from == "msb");
    CHECK(moves[0].to == "msa");
    CHECK(moves[0].address == "a");

    // msa in maintenance, then down: h1 stays on msb (its first up server), and
    // msa's own agent h2 is its drain's business, not a rebalance's.
    servers[0].maintenance = true;
    moves = plan_rebalance(preview, hosts, servers, now);
    CHECK(moves.empty());
    servers[0].maintenance = false;
    servers[0].state = "down";
    moves = plan_rebalance(preview, hosts, servers, now);
    CHECK(moves.empty());
}

TEST_CASE("host ids: ranges, overlaps and the size limit") {
    CHECK(*parse_host_ids("1-3, 7 ,10 - 11") == std::vector<std::int64_t>{1, 2, 3, 7, 10, 11});
    CHECK(parse_host_ids("1-10000")->size() == 10000);
    CHECK(*parse_host_ids("5-5") == std::vector<std::int64_t>{5});
    const std::vector<std::pair<std::string, std::string>> refused = {
        {"5-2", "entry 1: the range \"5-2\" ends before it starts"},
        {"1-3,3", "id 3 is given twice"},
        {"1-5,4-8", "id 4 is given twice"},
        {"0-5", "not positive"},
        {"1-", "entry 1"},
        {"-3", "negative"},
        {"1-x", "not a whole number"},
        {"1-1000001", "more than 1000000 ids"},
        {"1-999999,2000000-2000001", "more than 1000000 ids"},
        {"1-9223372036854775806", "more than 1000000 ids"},
    };
    for (const auto& [text, reason] : refused) {
        INFO(text);
        auto parsed = parse_host_ids(text);
        REQUIRE_FALSE(parsed.ok());
        CHECK_THAT(parsed.error(), Catch::StartsWith("--host-ids") && Catch::Contains(reason));
    }
}

TEST_CASE("imbalance: max over the fair share, equal or by weight") {
    using agentlb::lb::Weights;
    CHECK(imbalance({{"a", 2}, {"b", 1}, {"c", 1}}, {}, false) == Approx(1.5));
    CHECK(imbalance({{"a", 0}, {"b", 0}}, {}, false) == 0);
    CHECK(imbalance({{"a", 10}, {"b", 20}}, Weights{{"a", 1}, {"b", 2}}, true) == Approx(1.0));
    // Unweighted algorithms are measured against equal shares whatever the weights.
    CHECK(imbalance({{"a", 10}, {"b", 20}}, Weights{{"a", 1}, {"b", 2}}, false) == Approx(4.0 / 3.0));
    // A weight 0 server has no share and is left out; all 0 counts as equal.
    CHECK(imbalance({{"a", 10}, {"b", 10}, {"c", 0}}, Weights{{"c", 0}}, true) == Approx(1.0));
    CHECK(imbalance({{"a", 3}, {"b", 1}}, Weights{{"a", 0}, {"b", 0}}, true) == Approx(1.5));
}

TEST_CASE("preview --down: a failed server's agents go to the next entry of their lists") {
    const Preview preview = compute_preview(ids_input("roundrobin", {1, 2, 3, 4, 5, 6}, false));
    const DownPreview down = preview_down(preview, {"M1", "M2", "M3"}, "M1", {}, false);
    CHECK(down.server == "M1");
    CHECK(down.agents == 2);
    CHECK(down.moved_to == ServerCounts{{"M2", 2}, {"M3", 0}});
    CHECK(down.moved_imbalance == Approx(2.0));
    CHECK(down.load == ServerCounts{{"M2", 4}, {"M3", 2}});
    CHECK(down.load_imbalance == Approx(4.0 / 3.0));

    PreviewReport report;
    report.shown = ShownConfig{{"M1", "M2", "M3"}, algorithm("roundrobin"), {}, preview};
    report.summary_only = true;
    report.down = down;
    CHECK(render_report(report) ==
          "preferred: M1=2 M2=2 M3=2\n"
          "imbalance: 1.000 (most first places over a fair share; 1 = even)\n"
          "down M1: 2 agents move: M2=2 M3=0 (imbalance 2.000); first places after: M2=4 M3=2 "
          "(imbalance 1.333)\n");
}

TEST_CASE("first_changes counts the hosts whose first server differs") {
    const Preview roundrobin = compute_preview(ids_input("roundrobin", {1, 2, 3, 4, 5, 6}, false));
    const Preview fixed = compute_preview(ids_input("static", {1, 2, 3, 4, 5, 6}, false));
    CHECK(first_changes(roundrobin, roundrobin) == 0);
    CHECK(first_changes(roundrobin, fixed) == 4);
}
