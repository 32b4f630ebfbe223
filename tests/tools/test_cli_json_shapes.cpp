// Every agentlbctl command that prints a table also has --json, in the shape
// docs/OPERATIONS.md documents ("JSON shapes"): each is run on a seeded store
// and its output parsed, with exactly the documented keys.

#include "common/util/clock.hpp"
#include "tests/tools/ctl_fixture.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace agentlb;
using namespace agentlb::test;

namespace {

using Keys = std::set<std::string>;
using Words = std::vector<std::string>;

Keys keys_of(const nlohmann::json& object) {
    Keys keys;
    for (const auto& item : object.items()) {
        keys.insert(item.key());
    }
    return keys;
}

// The fixture's store plus two servers up and its hosts h1 and h3 on ms2:
// under `static` every list is ms1,ms2, so `rebalance --dry-run` moves both.
void seed(const CtlFixture& f) {
    f.seed_everything();
    REQUIRE(f.ctl({"config", "set", "indirect.agent.lb.algorithm", "static"}).exit_code == 0);
    auto store = f.open();
    const std::int64_t now = util::unix_now();
    for (const std::string name : {"ms1", "ms2"}) {
        store->register_server(name, name + ":8250", now);
        store->heartbeat_server(name, now, 1);
    }
    for (const auto& host : store->list_hosts()) {
        store->set_connected(host.id, "ms2", now);
    }
}

// agentlbctl WORDS --json --db DB: the global options after the command.
nlohmann::json run_json_after(const CtlFixture& f, Words words) {
    words.insert(words.end(), {"--json", "--db", f.db});
    const CommandResult result = f.ctl_raw(words);
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    return nlohmann::json::parse(result.out);
}

const Keys kHostEntry{"id", "name", "zone", "cluster", "connected_to", "last_seen"};
const Keys kServerEntry{"name", "address", "state", "maintenance", "last_heartbeat", "agents"};

}  // namespace

TEST_CASE("every table command's --json is an array of entries with the documented keys") {
    CtlFixture f;
    seed(f);
    struct Shape {
        Words words;
        Keys entry;
    };
    const std::vector<Shape> shapes{
        {{"host", "list"}, kHostEntry},
        {{"mgmt", "list"}, kServerEntry},
        {{"cert", "list"},
         {"serial",
          "kind",
          "subject",
          "host_id",
          "host_name",
          "issuer",
          "issued_at",
          "not_after",
          "revoked",
          "revoked_at",
          "superseded",
          "state"}},
        {{"config", "list"}, {"name", "value", "default", "zone", "cluster"}},
        {{"config", "list", "--effective", "--host", "h3"}, {"name", "value", "source", "zone", "cluster"}},
        {{"rebalance", "--dry-run"}, {"id", "host", "from", "to", "address"}},
    };
    for (const Shape& shape : shapes) {
        INFO(nlohmann::json(shape.words).dump());
        const nlohmann::json out = run_json_after(f, shape.words);
        REQUIRE(out.is_array());
        REQUIRE_FALSE(out.empty());
        for (const auto& entry : out) {
            CHECK(keys_of(entry) == shape.entry);
        }
    }
}

TEST_CASE("status --json and preview --json are objects with the documented keys") {
    CtlFixture f;
    seed(f);
    const nlohmann::json status = run_json_after(f, {"status"});
    CHECK(keys_of(status) == Keys{"store",
                                  "ca_fingerprint",
                                  "servers",
                                  "config",
                                  "hosts",
                                  "not_connected",
                                  "servers_down",
                                  "certificates_expiring"});
    REQUIRE(status["servers"].size() == 2);
    Keys server = kServerEntry;
    server.insert("connected_hosts");
    CHECK(keys_of(status["servers"][0]) == server);
    CHECK(keys_of(status["hosts"]) == Keys{"registered", "connected"});
    CHECK(keys_of(status["certificates_expiring"]) ==
          Keys{"alert_period", "servers", "agents", "ca_not_after"});

    const nlohmann::json preview = run_json_after(f, {"preview", "--down", "ms1:8250"});
    // places_not_applied: the fixture's cluster c1 of zone east sets its own algorithm.
    CHECK(
        keys_of(preview) ==
        Keys{
            "algorithm", "host", "weights", "hosts", "preferred", "imbalance", "down", "places_not_applied"});
    CHECK(keys_of(preview["places_not_applied"][0]) == Keys{"zone", "cluster"});
    REQUIRE_FALSE(preview["hosts"].empty());
    CHECK(keys_of(preview["hosts"][0]) == Keys{"id", "name", "zone", "list"});
    CHECK(keys_of(preview["down"]) ==
          Keys{"server", "agents", "moved_to", "moved_imbalance", "load", "load_imbalance"});
}

TEST_CASE("global options work before, between and after the command words, with the same output") {
    CtlFixture f;
    seed(f);
    const nlohmann::json after = run_json_after(f, {"host", "list"});
    for (const Words& words : {Words{"--json", "--db", f.db, "host", "list"},
                               Words{"host", "--db", f.db, "list", "--json"},
                               Words{"--db=" + f.db, "host", "list", "--json"}}) {
        INFO(nlohmann::json(words).dump());
        const CommandResult result = f.ctl_raw(words);
        INFO(result.err);
        REQUIRE(result.exit_code == 0);
        CHECK(nlohmann::json::parse(result.out) == after);
    }
    CHECK(after.size() == 2);
}
