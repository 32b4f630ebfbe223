// agentlbctl preview (with and without a store) and status, run as a process.

#include "common/lb/config_keys.hpp"
#include "common/util/clock.hpp"
#include "tests/tools/ctl_fixture.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace agentlb;
using namespace agentlb::test;

TEST_CASE("preview without a store prints DESIGN.md's example and never creates a store") {
    CtlFixture f;
    const std::vector<std::string> proposal = {
        "preview", "--host", "M1,M2,M3", "--algorithm", "roundrobin", "--host-ids", "1,2,3,4"};
    const CommandResult plain = f.ctl(proposal);
    INFO(plain.err);
    REQUIRE(plain.exit_code == 0);
    CHECK(plain.out ==
          "1: M1,M2,M3\n"
          "2: M2,M3,M1\n"
          "3: M3,M1,M2\n"
          "4: M1,M2,M3\n"
          "preferred: M1=2 M2=1 M3=1\n"
          "imbalance: 1.500 (most first places over a fair share; 1 = even)\n");

    std::vector<std::string> with_new = proposal;
    with_new.push_back("--new-host");
    const CommandResult next = f.ctl(with_new);
    REQUIRE(next.exit_code == 0);
    CHECK_THAT(next.out, Catch::Contains("4: M1,M2,M3\nnew: M2,M3,M1\n"));
    CHECK_FALSE(std::filesystem::exists(f.db));
}

TEST_CASE("preview --json: hosts with id, name, zone and list - preferred counts") {
    CtlFixture f;
    const nlohmann::json out = f.ctl_json(
        {"preview", "--host", "M1,M2", "--algorithm", "roundrobin", "--host-ids", "3,7", "--new-host"});
    CHECK(out["algorithm"] == "roundrobin");
    CHECK(out["host"] == nlohmann::json{"M1", "M2"});
    REQUIRE(out["hosts"].size() == 2);
    CHECK(out["hosts"][0] ==
          nlohmann::json{{"id", 3}, {"name", nullptr}, {"zone", nullptr}, {"list", {"M1", "M2"}}});
    CHECK(out["hosts"][1]["list"] == nlohmann::json{"M2", "M1"});
    CHECK(out["new_host"][0]["list"] == nlohmann::json{"M1", "M2"});
    CHECK(out["preferred"] == nlohmann::json{{"M1", 1}, {"M2", 1}});
}

TEST_CASE("preview with the store: registered hosts per zone, stored or proposed values, nothing changed") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", "host", "M1,M2,M3"}).exit_code == 0);
    REQUIRE(f.ctl({"config", "set", "indirect.agent.lb.algorithm", "roundrobin"}).exit_code == 0);
    f.enrol("h1");
    f.enrol("h2");
    f.enrol("e1", "east");
    f.enrol("h4");
    const auto generation = f.open()->generation();
    const auto config = f.open()->list_config();

    const CommandResult stored = f.ctl({"preview", "--new-host"});
    INFO(stored.err);
    REQUIRE(stored.exit_code == 0);
    CHECK(stored.out ==
          "zone default:\n"
          "  1 h1: M1,M2,M3\n"
          "  2 h2: M2,M3,M1\n"
          "  4 h4: M3,M1,M2\n"
          "  new: M1,M2,M3\n"
          "zone east:\n"
          "  3 e1: M1,M2,M3\n"
          "  new: M2,M3,M1\n"
          "preferred: M1=2 M2=1 M3=1\n"
          "imbalance: 1.500 (most first places over a fair share; 1 = even)\n");

    const CommandResult proposed = f.ctl({"preview", "--algorithm", "static", "--host", "M9,M1"});
    REQUIRE(proposed.exit_code == 0);
    CHECK_THAT(proposed.out,
               Catch::Contains("  2 h2: M9,M1\n") &&
                   Catch::EndsWith("preferred: M9=4 M1=0\n"
                                   "imbalance: 2.000 (most first places over a fair share; 1 = even)\n"
                                   "current: roundrobin, host M1,M2,M3: preferred: M1=2 M2=1 M3=1; "
                                   "imbalance: 1.500\n"
                                   "first server changes for 4 of 4 hosts\n"));

    const nlohmann::json json = f.ctl_json({"preview"});
    REQUIRE(json["hosts"].size() == 4);
    CHECK(json["hosts"][0] ==
          nlohmann::json{{"id", 1}, {"name", "h1"}, {"zone", "default"}, {"list", {"M1", "M2", "M3"}}});
    CHECK(json["hosts"][3]["zone"] == "east");
    CHECK(json["preferred"] == nlohmann::json{{"M1", 2}, {"M2", 1}, {"M3", 1}});

    CHECK(f.open()->generation() == generation);
    CHECK(f.open()->list_config() == config);
}

TEST_CASE("preview offline under hash: --weights, ranges of ids, --down, --summary, and the --json shape") {
    CtlFixture f;
    const std::vector<std::string> proposal = {"preview",
                                               "--host",
                                               "a,b,c",
                                               "--algorithm",
                                               "hash",
                                               "--host-ids",
                                               "1-3000",
                                               "--weights",
                                               "a=1,b=2,c=3",
                                               "--down",
                                               "c",
                                               "--summary"};
    const CommandResult plain = f.ctl(proposal);
    INFO(plain.err);
    REQUIRE(plain.exit_code == 0);
    CHECK_THAT(plain.out,
               Catch::StartsWith("preferred: a=") && Catch::Contains("imbalance: 1.0") &&
                   Catch::Contains("(most first places over a fair share by weight") &&
                   Catch::Contains("down c: ") && Catch::Contains(" agents move: a="));
    CHECK(plain.out.find("1: ") == std::string::npos);  // --summary: no lists
    CHECK_FALSE(std::filesystem::exists(f.db));

    const nlohmann::json out = f.ctl_json(proposal);
    CHECK(out["algorithm"] == "hash");
    CHECK(out["weights"] == nlohmann::json{{"a", 1}, {"b", 2}, {"c", 3}});
    CHECK_FALSE(out.contains("hosts"));
    CHECK_FALSE(out.contains("current"));
    const std::int64_t a = out["preferred"]["a"];
    const std::int64_t b = out["preferred"]["b"];
    const std::int64_t c = out["preferred"]["c"];
    CHECK(a + b + c == 3000);
    // Shares 1:2:3 of 3,000 within 10%.
    CHECK(std::abs(a - 500) <= 50);
    CHECK(std::abs(b - 1000) <= 100);
    CHECK(std::abs(c - 1500) <= 150);
    const double imbalance = out["imbalance"];
    CHECK(imbalance >= 1.0);
    CHECK(imbalance <= 1.1);
    const nlohmann::json& down = out["down"];
    CHECK(down["server"] == "c");
    CHECK(down["agents"] == c);
    CHECK(down["moved_to"]["a"].get<std::int64_t>() + down["moved_to"]["b"].get<std::int64_t>() == c);
    CHECK(down["load"]["a"].get<std::int64_t>() + down["load"]["b"].get<std::int64_t>() == 3000);
    CHECK_FALSE(down["load"].contains("c"));
    CHECK(down["moved_imbalance"].get<double>() >= 1.0);
    CHECK(down["load_imbalance"].get<double>() >= 1.0);

    // roundrobin sends all of a failed server's agents to the next one.
    const nlohmann::json rr = f.ctl_json({"preview",
                                          "--host",
                                          "a,b,c",
                                          "--algorithm",
                                          "roundrobin",
                                          "--host-ids",
                                          "1-3000",
                                          "--down",
                                          "a:8250"});
    CHECK(rr["down"]["server"] == "a");
    CHECK(rr["down"]["moved_to"] == nlohmann::json{{"b", 1000}, {"c", 0}});
    CHECK(rr["down"]["load_imbalance"] == Approx(4.0 / 3.0));
    CHECK(rr["hosts"].size() == 3000);
}

TEST_CASE("preview compares a proposal with the stored configuration, stored weights included") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", "host", "a,b,c"}).exit_code == 0);
    REQUIRE(f.ctl({"config", "set", "indirect.agent.lb.algorithm", "hash"}).exit_code == 0);
    REQUIRE(f.ctl({"config", "set", "agentlb.server.weights", "c=0"}).exit_code == 0);

    // The stored weights apply: c (weight 0) is first for nobody.
    const nlohmann::json stored = f.ctl_json({"preview", "--host-ids", "1-1000", "--summary"});
    CHECK(stored["preferred"]["c"] == 0);
    CHECK(stored["weights"] == nlohmann::json{{"a", 1}, {"b", 1}, {"c", 0}});
    CHECK_FALSE(stored.contains("current"));

    const nlohmann::json proposed =
        f.ctl_json({"preview", "--host-ids", "1-1000", "--summary", "--weights", "c=1"});
    REQUIRE(proposed.contains("current"));
    CHECK(proposed["current"]["weights"] == nlohmann::json{{"a", 1}, {"b", 1}, {"c", 0}});
    CHECK(proposed["current"]["preferred"]["c"] == 0);
    // Only the agents c now takes change their first server.
    CHECK(proposed["current"]["first_changed"] == proposed["preferred"]["c"]);

    const CommandResult text =
        f.ctl({"preview", "--host-ids", "1-1000", "--summary", "--algorithm", "roundrobin"});
    REQUIRE(text.exit_code == 0);
    CHECK_THAT(text.out,
               Catch::Contains("current: hash, host a,b,c, weights c=0: preferred: a=") &&
                   Catch::Contains("first server changes for "));

    // A proposed host without c leaves the stored weight naming nothing.
    const CommandResult orphan = f.ctl({"preview", "--host", "a,b", "--host-ids", "1-10"});
    CHECK(orphan.exit_code == 2);
    CHECK_THAT(orphan.err,
               Catch::Contains("--host: the stored agentlb.server.weights does not fit it") &&
                   Catch::Contains("\"c\"") && Catch::Contains("give --weights too"));
    CHECK(f.ctl({"preview", "--host", "a,b", "--host-ids", "1-10", "--weights", ""}).exit_code == 0);

    const CommandResult bad_weights = f.ctl({"preview", "--weights", "z=1"});
    CHECK(bad_weights.exit_code == 2);
    CHECK_THAT(bad_weights.err, Catch::Contains("--weights: \"z\" is not in `host`"));
    const CommandResult bad_down = f.ctl({"preview", "--down", "z"});
    CHECK(bad_down.exit_code == 2);
    CHECK_THAT(bad_down.err, Catch::Contains("--down: \"z\" is not in the host list (a,b,c)"));
}

TEST_CASE("preview with no host list anywhere is a failure that says what to do") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", "indirect.agent.lb.algorithm", "roundrobin"}).exit_code == 0);
    const CommandResult result = f.ctl({"preview"});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Catch::Contains("`host` is not set"));
}

TEST_CASE("status shows servers, agents, configuration, hosts not connected and servers down") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", "host", "ms1,ms2"}).exit_code == 0);
    const std::int64_t now = util::unix_now();
    const std::int64_t h1 = f.enrol("h1");
    const std::int64_t h2 = f.enrol("h2");
    f.enrol("h3");
    {
        auto store = f.open();
        store->register_server("ms1", "10.0.0.1:8250", now);
        store->heartbeat_server("ms1", now, 1);
        store->register_server("ms2", "10.0.0.2:8250", now - 60);
        store->set_connected(h1, "ms1", now);
        store->set_connected(h2, "ms2", now - 60);
    }
    const CommandResult text = f.ctl({"status"});
    INFO(text.err);
    REQUIRE(text.exit_code == 0);
    CHECK_THAT(text.out, Catch::Contains("ca_fingerprint (none"));
    CHECK_THAT(text.out, Catch::Contains("host                                    ms1,ms2"));
    CHECK_THAT(text.out, Catch::Contains("indirect.agent.lb.algorithm             static (default)"));
    CHECK_THAT(text.out, Catch::Contains("hosts: 3 registered, 1 connected"));
    CHECK_THAT(text.out, Catch::Contains("its server ms2 is down"));
    CHECK_THAT(text.out, Catch::Contains("\nservers down or stale\nms2: no heartbeat for"));

    const nlohmann::json json = f.ctl_json({"status"});
    REQUIRE(json["servers"].size() == 2);
    CHECK(json["servers"][0]["name"] == "ms1");
    CHECK(json["servers"][0]["state"] == "up");
    CHECK(json["servers"][0]["agents"] == 1);
    CHECK(json["servers"][0]["connected_hosts"] == 1);
    CHECK(json["servers"][1]["state"] == "down");
    CHECK(json["hosts"] == nlohmann::json{{"registered", 3}, {"connected", 1}});
    REQUIRE(json["not_connected"].size() == 2);
    CHECK(json["not_connected"][0]["name"] == "h2");
    CHECK(json["not_connected"][1]["name"] == "h3");
    REQUIRE(json["servers_down"].size() == 1);
    CHECK(json["servers_down"][0]["name"] == "ms2");
    CHECK_THAT(json["servers_down"][0]["reason"].get<std::string>(), Catch::Contains("no heartbeat"));
    // Every key, the servers' own (agentlb.store.unreachable.limit, the drain keys) included.
    CHECK(json["config"].size() == lb::config_keys().size());
    CHECK(json["ca_fingerprint"].is_null());
}

TEST_CASE("status lists the certificates expiring within the alert period") {
    CtlFixture f;
    REQUIRE(f.ctl({"ca", "init", "--ca-dir", (f.dir / "ca").string()}).exit_code == 0);
    const auto now = util::unix_now();
    {
        auto store = f.open();
        store->record_server_certificate("ms1",
                                         store::IssuedCertificate{"pem", "serial-ms1", now + 5 * 86400});
        store->record_server_certificate("ms2",
                                         store::IssuedCertificate{"pem", "serial-ms2", now + 60 * 86400});
    }
    const CommandResult text = f.ctl({"status"});
    INFO(text.err);
    REQUIRE(text.exit_code == 0);
    CHECK_THAT(text.out,
               Catch::Contains("\ncertificates expiring within 15d (ca.framework.cert.expiry.alert.period)\n"
                               "server ms1: serial serial-ms1, expires "));
    CHECK(text.out.find("serial-ms2") == std::string::npos);
    CHECK(text.out.find("the CA: expires") == std::string::npos);

    // Ten years: the CA too.
    REQUIRE(f.ctl({"config", "set", "ca.framework.cert.expiry.alert.period", "3650d"}).exit_code == 0);
    const nlohmann::json json = f.ctl_json({"status"});
    const auto& expiring = json["certificates_expiring"];
    CHECK(expiring["alert_period"] == "3650d");
    REQUIRE(expiring["servers"].size() == 2);
    CHECK(expiring["servers"][0]["name"] == "ms1");
    CHECK(expiring["ca_not_after"].is_string());
    CHECK(expiring["agents"] == 0);
    CHECK_THAT(f.ctl({"status"}).out, Catch::Contains("the CA: expires "));

    REQUIRE(f.ctl({"config", "set", "ca.framework.cert.expiry.alert.period", "0"}).exit_code == 0);
    CHECK_THAT(f.ctl({"status"}).out, Catch::Contains("(not checked: the period is 0)"));
}
