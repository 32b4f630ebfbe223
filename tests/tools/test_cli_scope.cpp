// agentlbctl configuration per zone and per cluster: config set/unset/list
// with --zone and --cluster, config list --effective, token create
// --cluster and host set, run as a process.

#include "tests/tools/ctl_fixture.hpp"

#include <catch2/catch.hpp>

using namespace agentlb;
using namespace agentlb::test;

namespace {

const std::string kAlgorithm = "indirect.agent.lb.algorithm";
const std::string kInterval = "indirect.agent.lb.check.interval";

}  // namespace

TEST_CASE("config set --zone/--cluster stores a scoped value, and config list shows its scope") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", "host", "ms1,ms2"}).exit_code == 0);
    const CommandResult zone = f.ctl({"config", "set", "--zone", "z1", "host", "ms3"});
    INFO(zone.err);
    REQUIRE(zone.exit_code == 0);
    CHECK(zone.out == "host (zone z1): (not set) -> ms3\n");
    const CommandResult cluster =
        f.ctl({"config", "set", "--zone", "z1", "--cluster", "c1", kAlgorithm, "shuffle"});
    REQUIRE(cluster.exit_code == 0);
    CHECK(cluster.out == kAlgorithm + " (cluster c1 of zone z1): (not set) -> shuffle\n");
    CHECK(f.ctl({"config", "set", "--zone", "z1", "host", "ms4"}).out == "host (zone z1): ms3 -> ms4\n");

    auto store = f.open();
    CHECK(store->get_config("host") == std::optional<std::string>("ms1,ms2"));
    CHECK(store->scoped_config().overrides.at(lb::ConfigScope{"z1", ""}).at("host") == "ms4");

    const CommandResult list = f.ctl({"config", "list"});
    REQUIRE(list.exit_code == 0);
    CHECK_THAT(list.out,
               Catch::Contains("host                                    ms1,ms2      set      global\n"));
    CHECK_THAT(list.out,
               Catch::EndsWith("host                                    ms4          set      zone z1\n" +
                               kAlgorithm + "             shuffle      set      cluster c1 (zone z1)\n"));
    CHECK(f.ctl({"config", "list", "--zone", "z1"}).out ==
          "KEY   VALUE  SOURCE  SCOPE\n"
          "host  ms4    set     zone z1\n");

    const nlohmann::json json = f.ctl_json({"config", "list"});
    REQUIRE(json.size() == 24);  // the 22 global keys, then the 2 scoped values
    CHECK(json[22] ==
          nlohmann::json{
              {"name", "host"}, {"value", "ms4"}, {"default", false}, {"zone", "z1"}, {"cluster", nullptr}});
    CHECK(json[23] == nlohmann::json{{"name", kAlgorithm},
                                     {"value", "shuffle"},
                                     {"default", false},
                                     {"zone", "z1"},
                                     {"cluster", "c1"}});
    CHECK(f.ctl_json({"config", "set", "--zone", "z2", kInterval, "5"}) ==
          nlohmann::json{
              {"name", kInterval}, {"old", nullptr}, {"value", "5"}, {"zone", "z2"}, {"cluster", nullptr}});
}

TEST_CASE("config list --effective --host shows each key's value for the host and where it came from") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", "host", "ms1,ms2"}).exit_code == 0);
    REQUIRE(f.ctl({"config", "set", "--zone", "east", "host", "ms3"}).exit_code == 0);
    REQUIRE(
        f.ctl({"config", "set", "--zone", "east", "--cluster", "c1", kAlgorithm, "roundrobin"}).exit_code ==
        0);
    REQUIRE(f.ctl({"config", "set", "--zone", "west", "--cluster", "c1", kInterval, "9"}).exit_code == 0);
    f.enrol("h1", "east");
    REQUIRE(f.ctl({"host", "set", "h1", "--cluster", "c1"}).exit_code == 0);

    const CommandResult effective = f.ctl({"config", "list", "--effective", "--host", "h1"});
    INFO(effective.err);
    REQUIRE(effective.exit_code == 0);
    CHECK(effective.out ==
          "KEY                                     VALUE        SOURCE\n"
          "host                                    ms3          zone east\n"
          "indirect.agent.lb.algorithm             roundrobin   cluster c1\n"
          "indirect.agent.lb.check.interval        0            default\n"
          "agentlb.server.weights                  (not set)    default\n"
          "agentlb.rebalance.behaviour             off          default\n"
          "agentlb.mode                            performance  default\n"
          "agentlb.density.max.agents              5000         default\n"
          "agentlb.mode.schedule                   (not set)    default\n"
          "agentlb.store.unreachable.limit         120          default\n"
          "agentlb.drain.rate                      200          default\n"
          "agentlb.maintenance.timeout             600          default\n"
          "agentlb.shutdown.timeout                60           default\n"
          "ca.framework.cert.validity.period       365d         default\n"
          "agentlb.ca.server.cert.validity.period  365d         default\n"
          "agentlb.ca.key.type                     p256         default\n"
          "agentlb.ca.cert.renewal.fraction        0.67         default\n"
          "ca.framework.cert.automatic.renewal     true         default\n"
          "ca.framework.cert.expiry.alert.period   15d          default\n"
          "agentlb.ca.expired.cert.grace.period    0            default\n"
          "agentlb.handshake.max.inflight          0            default\n"
          "agentlb.tls.ticket.lifetime             1h           default\n"
          "agentlb.tls.ticket.key.rotation.period  12h          default\n");

    const nlohmann::json json = f.ctl_json({"config", "list", "--effective", "--host", "H1"});
    CHECK(
        json[0] ==
        nlohmann::json{
            {"name", "host"}, {"value", "ms3"}, {"source", "zone"}, {"zone", "east"}, {"cluster", nullptr}});
    CHECK(json[1] == nlohmann::json{{"name", kAlgorithm},
                                    {"value", "roundrobin"},
                                    {"source", "cluster"},
                                    {"zone", "east"},
                                    {"cluster", "c1"}});
    CHECK(json[2] == nlohmann::json{{"name", kInterval},
                                    {"value", "0"},
                                    {"source", "default"},
                                    {"zone", nullptr},
                                    {"cluster", nullptr}});

    // A place without a host; the global value for another zone.
    const nlohmann::json west =
        f.ctl_json({"config", "list", "--effective", "--zone", "west", "--cluster", "c1"});
    CHECK(west[0]["value"] == "ms1,ms2");
    CHECK(west[0]["source"] == "global");
    CHECK(west[2]["value"] == "9");
    CHECK_FALSE(west[2].contains("sent_to_agents"));

    // While the rebalancer may act there, the agents get check interval 0:
    // shown beside the stored value.
    REQUIRE(f.ctl({"config", "set", "--zone", "west", "agentlb.rebalance.behaviour", "normal"}).exit_code ==
            0);
    const nlohmann::json acting =
        f.ctl_json({"config", "list", "--effective", "--zone", "west", "--cluster", "c1"});
    CHECK(acting[2]["value"] == "9");
    CHECK(acting[2]["sent_to_agents"] == "0");
    const CommandResult acting_table =
        f.ctl({"config", "list", "--effective", "--zone", "west", "--cluster", "c1"});
    CHECK_THAT(
        acting_table.out,
        Catch::Contains("indirect.agent.lb.check.interval        9 (agents get 0: rebalancer)  cluster c1"));

    const CommandResult unknown = f.ctl({"config", "list", "--effective", "--host", "nope"});
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(unknown.err, Catch::Contains("no host named \"nope\""));
    CHECK(f.ctl({"config", "list", "--host", "h1"}).exit_code == 2);
}

TEST_CASE("config unset removes a scoped value, and refuses the global scope") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", "--zone", "z1", "--cluster", "c1", kInterval, "30"}).exit_code == 0);
    const CommandResult removed = f.ctl({"config", "unset", "--zone", "z1", "--cluster", "c1", kInterval});
    INFO(removed.err);
    REQUIRE(removed.exit_code == 0);
    CHECK(removed.out == kInterval + " (cluster c1 of zone z1): 30 -> (not set); the wider value applies\n");
    CHECK(f.open()->scoped_config().overrides.empty());
    CHECK(f.ctl({"config", "unset", "--zone", "z1", "--cluster", "c1", kInterval}).out ==
          kInterval + " (cluster c1 of zone z1): was not set; nothing changed\n");

    const CommandResult global = f.ctl({"config", "unset", kInterval});
    CHECK(global.exit_code == 2);
    CHECK_THAT(global.err, Catch::Contains("only a value set per zone or cluster can be removed"));
    const CommandResult unknown = f.ctl({"config", "unset", "--zone", "z1", "no.such.key"});
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(unknown.err, Catch::Contains("unknown configuration key \"no.such.key\""));
}

TEST_CASE("refused scoped values exit 2, say why, and change nothing") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", "host", "ms1"}).exit_code == 0);
    const auto generation = f.open()->generation();
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    for (const Case& c : std::vector<Case>{
             {{"--zone", "z1", "agentlb.drain.rate", "10"},
              "agentlb.drain.rate: cannot be set per zone or cluster"},
             {{"--zone", "z1", "agentlb.store.unreachable.limit", "10"}, "each management server reads it"},
             {{"--zone", "z1", "--cluster", "c1", "agentlb.shutdown.timeout", "1"}, "set it globally"},
             {{"--zone", "z1", "agentlb.maintenance.timeout", "1"}, "cannot be set per zone"},
             {{"--cluster", "c1", "host", "ms2"}, "--cluster needs --zone"},
             {{"--zone", "z1", kAlgorithm, "fastest"}, "fastest"},
             {{"--zone", "z1", "host", "ms1,ms1"}, "host: "},
             {{"--zone", "z 1", "host", "ms2"}, "zone \"z 1\" contains a space"},
             {{"--zone", "", "host", "ms2"}, "--zone: the value is empty"},
         }) {
        std::vector<std::string> args{"config", "set"};
        args.insert(args.end(), c.args.begin(), c.args.end());
        const CommandResult refused = f.ctl(args);
        INFO(refused.err);
        CHECK(refused.exit_code == 2);
        CHECK_THAT(refused.err, Catch::Contains(c.message));
    }
    CHECK(f.open()->scoped_config().overrides.empty());
    CHECK(f.open()->generation() == generation);
}

TEST_CASE("token create --cluster gives the enrolled host its cluster and needs --zone") {
    CtlFixture f;
    REQUIRE(f.ctl({"ca", "init", "--ca-dir", (f.dir / "ca").string()}).exit_code == 0);
    const CommandResult created = f.ctl({"token", "create", "--zone", "east", "--cluster", "c1"});
    INFO(created.err);
    REQUIRE(created.exit_code == 0);
    CHECK_THAT(created.out, Catch::Contains("zone east\ncluster c1\n"));
    const auto tokens = f.open()->export_contents().tokens;
    REQUIRE(tokens.size() == 1);
    CHECK(tokens[0].spec.cluster == std::optional<std::string>("c1"));
    CHECK(tokens[0].spec.zone == std::optional<std::string>("east"));

    const CommandResult orphan = f.ctl({"token", "create", "--cluster", "c1"});
    CHECK(orphan.exit_code == 2);
    CHECK_THAT(orphan.err, Catch::Contains("--cluster needs --zone"));
    const CommandResult bad = f.ctl({"token", "create", "--zone", "east", "--cluster", "c\t1"});
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.err,
               Catch::Contains("--cluster: cluster \"c\\x091\" contains a space or a control character"));
    CHECK(f.open()->export_contents().tokens.size() == 1);
}

TEST_CASE("host set moves a host to another zone or cluster, and host list shows the cluster") {
    CtlFixture f;
    f.enrol("h1", "east");
    const CommandResult moved = f.ctl({"host", "set", "h1", "--cluster", "c1"});
    INFO(moved.err);
    REQUIRE(moved.exit_code == 0);
    CHECK(moved.out ==
          "host h1: zone east -> east, cluster (none) -> c1; the server holding it pushes its new list "
          "within a "
          "second\n");
    CHECK(f.open()->find_host("h1")->cluster == "c1");
    CHECK_THAT(f.ctl({"host", "list"}).out, Catch::Contains("h1    east  c1"));
    CHECK(f.ctl_json({"host", "list"})[0]["cluster"] == "c1");

    // Another zone: the cluster of the old zone is left behind unless given.
    REQUIRE(f.ctl({"host", "set", "h1", "--zone", "west"}).exit_code == 0);
    CHECK(f.open()->find_host("h1")->zone == "west");
    CHECK(f.open()->find_host("h1")->cluster.empty());
    const nlohmann::json json = f.ctl_json({"host", "set", "h1", "--zone", "north", "--cluster", "c2"});
    CHECK(json["zone"] == "north");
    CHECK(json["cluster"] == "c2");
    CHECK(json["previous"] == nlohmann::json{{"zone", "west"}, {"cluster", nullptr}});
    REQUIRE(f.ctl({"host", "set", "h1", "--no-cluster"}).exit_code == 0);
    CHECK(f.open()->find_host("h1")->cluster.empty());
    CHECK_THAT(f.ctl({"host", "set", "h1", "--zone", "north"}).out, Catch::Contains("nothing changed"));

    const auto generation = f.open()->generation();
    for (const auto& [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"host", "set", "nope", "--zone", "z"}, "no host named \"nope\""},
             {{"host", "set", "h1"}, "nothing to change"},
             {{"host", "set", "h1", "--cluster", "c1", "--no-cluster"}, "contradict"},
             {{"host", "set", "h1", "--zone", "a b"}, "--zone: zone \"a b\" contains a space"},
             {{"host", "set", "h1", "--cluster", ""}, "--cluster: the value is empty"},
         }) {
        const CommandResult refused = f.ctl(args);
        INFO(refused.err);
        CHECK(refused.exit_code == 2);
        CHECK_THAT(refused.err, Catch::Contains(message));
    }
    CHECK(f.open()->generation() == generation);
}

TEST_CASE("config set --zone agentlb.server.weights is checked against the zone's effective host list") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", "host", "ms1,ms2"}).exit_code == 0);
    REQUIRE(f.ctl({"config", "set", "--zone", "z1", "host", "ms3,ms4"}).exit_code == 0);
    const CommandResult refused = f.ctl({"config", "set", "--zone", "z1", "agentlb.server.weights", "ms1=2"});
    CHECK(refused.exit_code == 2);
    CHECK_THAT(refused.err, Catch::Contains("agentlb.server.weights: ") && Catch::Contains("ms1"));
    const CommandResult set = f.ctl({"config", "set", "--zone", "z1", "agentlb.server.weights", "ms3=2"});
    INFO(set.err);
    REQUIRE(set.exit_code == 0);
    CHECK(f.open()->scoped_config().overrides.at(lb::ConfigScope{"z1", ""}).at("agentlb.server.weights") ==
          "ms3=2");
}

TEST_CASE("preview says which zones and clusters set their own host, algorithm or weights") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", "host", "ms1,ms2"}).exit_code == 0);
    const CommandResult plain = f.ctl({"preview", "--summary"});
    INFO(plain.err);
    REQUIRE(plain.exit_code == 0);
    CHECK(plain.out.find("note:") == std::string::npos);
    CHECK_FALSE(f.ctl_json({"preview", "--summary"}).contains("places_not_applied"));

    // An interval of its own changes no list: not named.
    REQUIRE(f.ctl({"config", "set", "--zone", "z2", kInterval, "30"}).exit_code == 0);
    REQUIRE(f.ctl({"config", "set", "--zone", "z1", "host", "ms3"}).exit_code == 0);
    REQUIRE(f.ctl({"config", "set", "--zone", "z1", "--cluster", "c1", kAlgorithm, "shuffle"}).exit_code ==
            0);
    const CommandResult noted = f.ctl({"preview", "--summary"});
    REQUIRE(noted.exit_code == 0);
    CHECK_THAT(
        noted.out,
        Catch::EndsWith(
            "note: zone \"z1\", cluster \"c1\" of zone \"z1\" set their own host, algorithm or weights; "
            "this preview applies the global values to every host (`agentlbctl config list "
            "--effective --host NAME` shows a host's own)\n"));
    CHECK(f.ctl_json({"preview", "--summary"})["places_not_applied"] ==
          nlohmann::json::parse(R"([{"zone": "z1", "cluster": null}, {"zone": "z1", "cluster": "c1"}])"));
}
