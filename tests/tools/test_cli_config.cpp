// agentlbctl config list / get / set, run as a process.

#include "tests/tools/ctl_fixture.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace agentlb;
using namespace agentlb::test;

namespace {

const std::string kHost = "host";
const std::string kAlgorithm = "indirect.agent.lb.algorithm";
const std::string kInterval = "indirect.agent.lb.check.interval";
const std::string kWeights = "agentlb.server.weights";

}  // namespace

TEST_CASE("config set prints KEY: OLD -> NEW for every key and the store holds the value") {
    CtlFixture f;
    const CommandResult host = f.ctl({"config", "set", kHost, "ms1, ms2:8250,10.0.0.3:9000"});
    INFO(host.err);
    REQUIRE(host.exit_code == 0);
    CHECK(host.out == "host: (not set) -> ms1, ms2:8250,10.0.0.3:9000\n");
    CHECK(f.ctl({"config", "set", kHost, "ms1,ms2"}).out == "host: ms1, ms2:8250,10.0.0.3:9000 -> ms1,ms2\n");

    const CommandResult algorithm = f.ctl({"config", "set", kAlgorithm, "roundrobin"});
    REQUIRE(algorithm.exit_code == 0);
    CHECK(algorithm.out == kAlgorithm + ": static (default) -> roundrobin\n");

    const CommandResult interval = f.ctl({"config", "set", kInterval, "30"});
    REQUIRE(interval.exit_code == 0);
    CHECK(interval.out == kInterval + ": 0 (default) -> 30\n");

    auto store = f.open();
    CHECK(store->get_config(kHost) == std::optional<std::string>("ms1,ms2"));
    CHECK(store->get_config(kAlgorithm) == std::optional<std::string>("roundrobin"));
    CHECK(store->get_config(kInterval) == std::optional<std::string>("30"));
}

TEST_CASE("config get prints the value or its default - --json is {name, value}") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", kAlgorithm, "shuffle"}).exit_code == 0);

    CHECK(f.ctl({"config", "get", kAlgorithm}).out == "shuffle\n");
    CHECK(f.ctl({"config", "get", kInterval}).out == "0\n");
    CHECK(f.ctl({"config", "get", kHost}).out == "\n");

    CHECK(f.ctl_json({"config", "get", kAlgorithm}) ==
          nlohmann::json{{"name", kAlgorithm}, {"value", "shuffle"}});
    CHECK(f.ctl_json({"config", "get", kInterval}) == nlohmann::json{{"name", kInterval}, {"value", "0"}});
    CHECK(f.ctl_json({"config", "get", kHost}) == nlohmann::json{{"name", kHost}, {"value", ""}});

    const CommandResult unknown = f.ctl({"config", "get", "indirect.agent.lb.nope"});
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(unknown.err, Catch::Contains("\"indirect.agent.lb.nope\""));
}

TEST_CASE("config list shows every key, marking defaults") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", kInterval, "15"}).exit_code == 0);
    const CommandResult list = f.ctl({"config", "list"});
    REQUIRE(list.exit_code == 0);
    CHECK(list.out ==
          "KEY                                     VALUE        SOURCE   SCOPE\n"
          "host                                    (not set)    default  global\n"
          "indirect.agent.lb.algorithm             static       default  global\n"
          "indirect.agent.lb.check.interval        15           set      global\n"
          "agentlb.server.weights                  (not set)    default  global\n"
          "agentlb.rebalance.behaviour             off          default  global\n"
          "agentlb.mode                            performance  default  global\n"
          "agentlb.density.max.agents              5000         default  global\n"
          "agentlb.mode.schedule                   (not set)    default  global\n"
          "agentlb.store.unreachable.limit         120          default  global\n"
          "agentlb.drain.rate                      200          default  global\n"
          "agentlb.maintenance.timeout             600          default  global\n"
          "agentlb.shutdown.timeout                60           default  global\n"
          "ca.framework.cert.validity.period       365d         default  global\n"
          "agentlb.ca.server.cert.validity.period  365d         default  global\n"
          "agentlb.ca.key.type                     p256         default  global\n"
          "agentlb.ca.cert.renewal.fraction        0.67         default  global\n"
          "ca.framework.cert.automatic.renewal     true         default  global\n"
          "ca.framework.cert.expiry.alert.period   15d          default  global\n"
          "agentlb.ca.expired.cert.grace.period    0            default  global\n"
          "agentlb.handshake.max.inflight          0            default  global\n"
          "agentlb.tls.ticket.lifetime             1h           default  global\n"
          "agentlb.tls.ticket.key.rotation.period  12h          default  global\n");

    const nlohmann::json json = f.ctl_json({"config", "list"});
    REQUIRE(json.is_array());
    REQUIRE(json.size() == 22);
    const nlohmann::json global{{"zone", nullptr}, {"cluster", nullptr}};
    auto entry = [&global](const std::string& name, const std::string& value, bool is_default) {
        nlohmann::json e{{"name", name}, {"value", value}, {"default", is_default}};
        e.update(global);
        return e;
    };
    CHECK(json[0] == entry(kHost, "", true));
    CHECK(json[1] == entry(kAlgorithm, "static", true));
    CHECK(json[2] == entry(kInterval, "15", false));
    CHECK(json[3] == entry("agentlb.server.weights", "", true));
    CHECK(json[4] == entry("agentlb.rebalance.behaviour", "off", true));
    CHECK(json[5] == entry("agentlb.mode", "performance", true));
    CHECK(json[8] == entry("agentlb.store.unreachable.limit", "120", true));
    CHECK(json[9] == entry("agentlb.drain.rate", "200", true));
}

TEST_CASE("every refused value exits 2, names the key, and changes nothing") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", kHost, "ms1,ms2"}).exit_code == 0);
    REQUIRE(f.ctl({"config", "set", kAlgorithm, "roundrobin"}).exit_code == 0);
    REQUIRE(f.ctl({"config", "set", kInterval, "10"}).exit_code == 0);
    REQUIRE(f.ctl({"config", "set", kWeights, "ms2=3"}).exit_code == 0);
    const auto before = f.open()->list_config();
    const auto generation = f.open()->generation();

    struct Refusal {
        std::string key;
        std::string value;
        std::string reason;  // part of the message
    };
    const std::vector<Refusal> refusals = {
        {"no.such.key", "1", "unknown configuration key \"no.such.key\""},
        {kAlgorithm, "bogus", "unknown algorithm \"bogus\""},
        {kAlgorithm, "", ""},
        {kHost, "", "empty"},
        {kHost, "a,,b", "empty"},
        {kHost, "a, ", "empty"},
        {kHost, "a,b,a:8250", "a:8250"},
        {kHost, "a:0", "out of range"},
        {kHost, "a:70000", "out of range"},
        {kHost, "a,b_", "entry 2 \"b_\""},
        {kInterval, "-5", "\"-5\" is negative"},
        {kInterval, "abc", "\"abc\" is not a whole number"},
        {kInterval, "1.5", "not a whole number"},
        {kInterval, "", "empty"},
        {kWeights, "ms3=1", "\"ms3\" is not in `host`"},
        {kWeights, "ms1:8250=1", "is written \"ms1\" in `host`"},
        {kWeights, "ms1=1001", "at most 1000"},
        {kWeights, "ms1=2,ms1=3", "\"ms1\" is given twice"},
        {kWeights, "ms1", "has no '='"},
        // Checked against the stored weights: ms2 would be left weighted.
        {kHost, "ms1,ms3", "agentlb.server.weights names \"ms2\""},
        {kHost, "ms1,ms2:8250", "agentlb.server.weights names \"ms2\""},
        {"agentlb.rebalance.behaviour", "fast", "unknown behaviour \"fast\""},
        {"agentlb.mode", "dense", "\"dense\""},
        {"agentlb.density.max.agents", "0", "\"0\" is too small"},
        {"agentlb.mode.schedule", "Mon-Fry density", "Fry"},
        {"agentlb.tls.ticket.lifetime", "8d", "out of range"},
        // Checked against the stored (default, 1h) lifetime.
        {"agentlb.tls.ticket.key.rotation.period", "30m", "agentlb.tls.ticket.lifetime 1h"},
    };
    for (const auto& refusal : refusals) {
        INFO(refusal.key << " = \"" << refusal.value << "\"");
        const CommandResult result = f.ctl({"config", "set", refusal.key, refusal.value});
        CHECK(result.exit_code == 2);
        CHECK_THAT(result.err, Catch::StartsWith("agentlbctl: config set: "));
        CHECK_THAT(result.err, Catch::Contains(refusal.key));
        CHECK_THAT(result.err, Catch::Contains(refusal.reason));
        CHECK(result.out.empty());
    }
    // After "--", options end: the same validation happens.
    const CommandResult dashes = f.ctl({"config", "set", kInterval, "--", "-5"});
    CHECK(dashes.exit_code == 2);
    CHECK_THAT(dashes.err, Catch::Contains(kInterval + ": \"-5\" is negative"));

    CHECK(f.open()->list_config() == before);
    CHECK(f.open()->generation() == generation);
}

// A list whose messages would not fit a frame would cut every agent off.
TEST_CASE("config set host with 4,000 entries (68 KB) exits 2 naming the frame limit, nothing stored") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", kHost, "ms1,ms2"}).exit_code == 0);
    const auto generation = f.open()->generation();
    std::string huge;
    for (int i = 0; i < 4000; ++i) {
        huge += (huge.empty() ? "" : ",") + ("mgmt-" + std::to_string(10000 + i) + ".example");
    }
    REQUIRE(huge.size() > 67000);

    const CommandResult result = f.ctl({"config", "set", kHost, huge});
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err,
               Catch::StartsWith("agentlbctl: config set: host: the list is " + std::to_string(huge.size()) +
                                 " bytes; the largest message it causes"));
    CHECK_THAT(result.err, Catch::Contains("over the 65536-byte frame limit; use fewer or shorter entries"));
    CHECK(result.out.empty());
    CHECK(f.open()->get_config(kHost) == std::optional<std::string>("ms1,ms2"));
    CHECK(f.open()->generation() == generation);
}

TEST_CASE("a refused value never creates a store - a good one may") {
    CtlFixture f;
    CHECK(f.ctl({"config", "set", kInterval, "-5"}).exit_code == 2);
    CHECK_FALSE(std::filesystem::exists(f.db));
    CHECK(f.ctl({"config", "set", kInterval, "5"}).exit_code == 0);
    CHECK(std::filesystem::exists(f.db));
}

TEST_CASE("reads on a missing store fail with exit 1 and create nothing - $AGENTLB_DB is used") {
    CtlFixture f;
    for (const std::vector<std::string>& command : std::vector<std::vector<std::string>>{
             {"config", "list"}, {"config", "get", kHost}, {"host", "list"}, {"mgmt", "list"}, {"status"}}) {
        INFO(command.front());
        const CommandResult result = f.ctl(command);
        CHECK(result.exit_code == 1);
        CHECK_THAT(result.err, Catch::Contains("no store at"));
    }
    CHECK_FALSE(std::filesystem::exists(f.db));

    const CommandResult set = f.ctl_raw({"config", "set", kInterval, "7"}, {{"AGENTLB_DB", f.db}});
    REQUIRE(set.exit_code == 0);
    CHECK(f.ctl({"config", "get", kInterval}).out == "7\n");
    CHECK(f.ctl_raw({"config", "get", kInterval}, {{"AGENTLB_DB", f.db}}).out == "7\n");
}

TEST_CASE("reads on an empty (0-byte) store file fail with exit 1 and leave it empty") {
    CtlFixture f;
    { std::ofstream touch(f.db); }
    for (const std::vector<std::string>& command : std::vector<std::vector<std::string>>{
             {"config", "list"}, {"host", "list"}, {"mgmt", "list"}, {"status"}, {"ca", "show"}}) {
        INFO(command.front());
        const CommandResult result = f.ctl(command);
        INFO(result.err);
        CHECK(result.exit_code == 1);
        CHECK_THAT(result.err, Catch::Contains("is an empty file (0 bytes), not an agentlb store"));
        CHECK(std::filesystem::file_size(f.db) == 0);
    }
}

TEST_CASE("ca init turns an empty (0-byte) store file into a store: it is the explicit creating step") {
    CtlFixture f;
    { std::ofstream touch(f.db); }
    const CommandResult init = f.ctl({"ca", "init", "--ca-dir", (f.dir / "ca").string()});
    INFO(init.err);
    REQUIRE(init.exit_code == 0);
    CHECK(f.ctl({"ca", "show"}).exit_code == 0);
    CHECK(f.ctl({"host", "list"}).exit_code == 0);
}

TEST_CASE("a file that is not a store is a failure (exit 1) naming it") {
    CtlFixture f;
    {
        std::FILE* file = std::fopen(f.db.c_str(), "w");
        REQUIRE(file != nullptr);
        std::fputs("this is not an SQLite database, just some text that is long enough to be a header\n",
                   file);
        std::fclose(file);
    }
    const CommandResult result = f.ctl({"config", "list"});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Catch::StartsWith("agentlbctl: config list: ") && Catch::Contains(f.db));
}
