// agentlbctl on PostgreSQL, run as a process against a database of the test
// run's throwaway cluster: db version / migrate on a new database, db copy
// from SQLite read back the same from PostgreSQL, a target that is not empty
// refused, and the password never shown.

#include "common/store/schema.hpp"
#include "common/store/store_location.hpp"
#include "tests/support/pg_database.hpp"
#include "tests/tools/ctl_fixture.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace agentlb;
using namespace agentlb::test;

namespace {

const std::string kKnown = std::to_string(store::kSchemaVersion);

// postgresql://agentlb:PASSWORD@ADDR:PORT/NAME -> PASSWORD
std::string password_of(const std::string& uri) {
    const auto colon = uri.find(':', uri.find("://") + 3);
    return uri.substr(colon + 1, uri.find('@') - colon - 1);
}

// The same database as uri, as "postgresql://agentlb:***@ADDR:PORT/NAME".
std::string shown(const std::string& uri) {
    return "postgresql://agentlb:***@" + uri.substr(uri.find('@') + 1);
}

std::string first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

std::string describe(const CommandResult& result) {
    return "exit " + std::to_string(result.exit_code) + "\n--- stdout\n" + result.out + "--- stderr\n" +
           result.err;
}

// Every output of every command a test ran, checked at once for the password.
struct Outputs {
    std::string all;
    const CommandResult& add(const CommandResult& result) {
        all += result.out + result.err;
        return result;
    }
};

}  // namespace

TEST_CASE("db version and db migrate on a new PostgreSQL database: empty, then created, then current") {
    CtlFixture f;
    PgTestDatabase pg;
    Outputs outputs;

    const CommandResult empty = outputs.add(f.ctl_raw({"--db", pg.uri(), "--json", "db", "version"}));
    INFO(describe(empty));
    REQUIRE(empty.exit_code == 0);
    CHECK(nlohmann::json::parse(empty.out) == nlohmann::json{{"store", shown(pg.uri())},
                                                             {"stored", 0},
                                                             {"known", store::kSchemaVersion},
                                                             {"state", "empty"}});

    const CommandResult created = outputs.add(f.ctl_raw({"--db", pg.uri(), "db", "migrate"}));
    INFO(describe(created));
    CHECK(created.exit_code == 0);
    CHECK(created.out == "store " + shown(pg.uri()) + ": schema created, from 0 (empty) to " + kKnown + "\n");

    const CommandResult current = outputs.add(f.ctl_raw({"--db", pg.uri(), "db", "version"}));
    CHECK(current.exit_code == 0);
    CHECK(current.out == "store " + shown(pg.uri()) + "\nstored schema version " + kKnown +
                             "; this build knows " + kKnown + "\nup to date\n");

    const CommandResult again = outputs.add(f.ctl_raw({"db", "migrate"}, {{"AGENTLB_DB", pg.uri()}}));
    CHECK(again.exit_code == 0);
    CHECK(again.out == "store " + shown(pg.uri()) + ": already at schema version " + kKnown + "\n");

    CHECK_THAT(outputs.all, !Catch::Contains(password_of(pg.uri())));
}

TEST_CASE(
    "db copy from SQLite to PostgreSQL: hosts, configuration, certificates, tokens and CA read back the "
    "same") {
    CtlFixture f;
    f.seed_everything();
    PgTestDatabase pg;
    Outputs outputs;

    const CommandResult copied = outputs.add(f.ctl_raw({"db", "copy", "--from", f.db, "--to", pg.uri()}));
    INFO(describe(copied));
    REQUIRE(copied.exit_code == 0);
    CHECK_THAT(copied.out, Catch::StartsWith("copied \"" + f.db + "\" to \"" + shown(pg.uri()) + "\"\n"));
    CHECK_THAT(copied.out, Catch::Contains("certificates        5 (2 revoked)"));

    const nlohmann::json source = read_back(f, f.db);
    const nlohmann::json copy = read_back(f, pg.uri());
    CHECK(copy == source);
    CHECK(copy["revoked"] == nlohmann::json{"serial-h1", "serial-h2"});

    const CommandResult host = outputs.add(f.ctl_raw({"--db", pg.uri(), "config", "get", "host"}));
    CHECK(host.exit_code == 0);
    CHECK(host.out == "ms1:8250,ms2:8250\n");
    const CommandResult list = outputs.add(f.ctl_raw({"--db", pg.uri(), "host", "list"}));
    CHECK(list.exit_code == 0);
    CHECK(list.out == f.ctl({"host", "list"}).out);
    const CommandResult ca = outputs.add(f.ctl_raw({"--db", pg.uri(), "ca", "show"}));
    CHECK(ca.exit_code == 0);
    CHECK(ca.out == f.ctl({"ca", "show"}).out);

    const CommandResult status = outputs.add(f.ctl_raw({"--db", pg.uri(), "--json", "status"}));
    INFO(describe(status));
    REQUIRE(status.exit_code == 0);
    const nlohmann::json json = nlohmann::json::parse(status.out);
    CHECK(json["store"] == shown(pg.uri()));
    CHECK(json["hosts"]["registered"] == 2);
    const CommandResult text = outputs.add(f.ctl_raw({"--db", pg.uri(), "status"}));
    CHECK_THAT(text.out, Catch::StartsWith("store " + shown(pg.uri()) + "\n"));

    // Ids are never given twice: the next host comes after removed h2's id too.
    const std::int64_t now = util::unix_now();
    auto store = store::open_store(pg.uri(), store::OpenMode::existing);
    store->create_token(store::TokenSpec{"hash-h5", std::nullopt, std::nullopt, now + 3600, now});
    store::IssueFn issue = [now](const store::HostRecord&) -> Result<store::IssuedCertificate> {
        return store::IssuedCertificate{"-----BEGIN CERTIFICATE-----\n", "serial-h5", now + 86400};
    };
    auto enrolled = store->redeem_token(store::RedeemRequest{"hash-h5", "h5", std::nullopt, now}, issue);
    REQUIRE(enrolled.ok());
    CHECK(enrolled->host.id == 4);

    CHECK_THAT(outputs.all, !Catch::Contains(password_of(pg.uri())));
}

TEST_CASE("db copy into a PostgreSQL store that is not empty is refused with exit 2 and writes nothing") {
    CtlFixture f;
    f.seed_everything();
    PgTestDatabase pg;
    Outputs outputs;

    SECTION("a target that holds what an earlier copy wrote") {
        REQUIRE(outputs.add(f.ctl_raw({"db", "copy", "--from", f.db, "--to", pg.uri()})).exit_code == 0);
        const nlohmann::json before = read_back(f, pg.uri());
        f.enrol("h9");  // the source changed: a second copy would be refused all the same
        const CommandResult refused =
            outputs.add(f.ctl_raw({"db", "copy", "--from", f.db, "--to", pg.uri()}));
        INFO(describe(refused));
        CHECK(refused.exit_code == 2);
        CHECK_THAT(refused.err, Catch::Contains("is not empty"));
        CHECK_THAT(refused.err, Catch::Contains("nothing was copied"));
        CHECK(refused.out.empty());
        CHECK(read_back(f, pg.uri()) == before);
    }
    SECTION("a target with configuration only") {
        REQUIRE(
            outputs
                .add(f.ctl_raw({"--db", pg.uri(), "config", "set", "indirect.agent.lb.check.interval", "30"}))
                .exit_code == 0);
        const CommandResult refused =
            outputs.add(f.ctl_raw({"db", "copy", "--from", f.db, "--to", pg.uri()}));
        INFO(describe(refused));
        CHECK(refused.exit_code == 2);
        CHECK_THAT(
            refused.err,
            Catch::Contains("the store \"" + shown(pg.uri()) + "\" is not empty (it holds 1 configuration"));
        auto store = store::open_store(pg.uri(), store::OpenMode::existing);
        CHECK(store->list_config() ==
              std::map<std::string, std::string>{{"indirect.agent.lb.check.interval", "30"}});
        CHECK(store->list_hosts().empty());
        CHECK_FALSE(store->ca_certificate());
    }
    CHECK_THAT(outputs.all, !Catch::Contains(password_of(pg.uri())));
}

TEST_CASE("a libpq key=value location works like the URI, and no password shows, not even in errors") {
    CtlFixture f;
    f.seed_everything();
    PgTestDatabase pg;
    const std::string dir = pg_cluster_dir();
    const std::string password = first_line(dir + "/password");
    const std::string key_value = "host=" + first_line(dir + "/listen") +
                                  " port=" + first_line(dir + "/port") + " dbname=" + pg.name() +
                                  " user=agentlb password=" + password;
    Outputs outputs;

    const CommandResult copied = outputs.add(f.ctl_raw({"db", "copy", "--from", f.db, "--to", key_value}));
    INFO(describe(copied));
    REQUIRE(copied.exit_code == 0);
    CHECK_THAT(copied.out, Catch::Contains("password=***"));
    CHECK(read_back(f, key_value) == read_back(f, f.db));

    const CommandResult status = outputs.add(f.ctl_raw({"--json", "status"}, {{"AGENTLB_DB", key_value}}));
    REQUIRE(status.exit_code == 0);
    CHECK(nlohmann::json::parse(status.out)["store"] == store::shown_location(key_value));

    // A wrong password and a database that does not exist: refused by the
    // server, and the error names the location without either password.
    const std::string wrong =
        "postgresql://agentlb:not-the-Password-7@" + pg.uri().substr(pg.uri().find('@') + 1);
    const std::string missing = pg.admin_uri() + "_missing";
    for (const auto& location : {wrong, missing}) {
        for (const std::vector<std::string>& command :
             std::vector<std::vector<std::string>>{{"status"}, {"db", "version"}, {"db", "migrate"}}) {
            std::vector<std::string> argv{"--db", location};
            argv.insert(argv.end(), command.begin(), command.end());
            const CommandResult failed = outputs.add(f.ctl_raw(argv));
            INFO(describe(failed));
            CHECK(failed.exit_code == 1);
            CHECK_THAT(failed.err, Catch::Contains("***"));
        }
        outputs.add(f.ctl_raw({"db", "copy", "--from", f.db, "--to", location}));
    }
    CHECK_THAT(outputs.all, !Catch::Contains(password));
    CHECK_THAT(outputs.all, !Catch::Contains("not-the-Password-7"));
}

TEST_CASE(
    "a PostgreSQL store newer than this build: db version says so with exit 2, migrate and copy refuse it") {
    CtlFixture f;
    f.seed_everything();
    PgTestDatabase pg;
    Outputs outputs;
    REQUIRE(outputs.add(f.ctl_raw({"--db", pg.uri(), "db", "migrate"})).exit_code == 0);
    pg_exec(pg.uri(), "UPDATE agentlb_schema SET version = 99");

    const CommandResult version = outputs.add(f.ctl_raw({"--db", pg.uri(), "db", "version"}));
    INFO(describe(version));
    CHECK(version.exit_code == 2);
    CHECK_THAT(version.out, Catch::Contains("stored schema version 99; this build knows " + kKnown));
    CHECK_THAT(version.err,
               Catch::Contains("the store \"" + shown(pg.uri()) +
                               "\" has schema version 99, newer than this build"));

    const CommandResult migrate = outputs.add(f.ctl_raw({"--db", pg.uri(), "db", "migrate"}));
    CHECK(migrate.exit_code == 2);
    CHECK_THAT(migrate.err, Catch::Contains("has schema version 99"));

    const CommandResult copy = outputs.add(f.ctl_raw({"db", "copy", "--from", f.db, "--to", pg.uri()}));
    INFO(describe(copy));
    CHECK(copy.exit_code == 2);
    CHECK_THAT(copy.err, Catch::Contains("has schema version 99"));
    pg_exec(pg.uri(), "UPDATE agentlb_schema SET version = " + kKnown);
    auto store = store::open_store(pg.uri(), store::OpenMode::existing);
    CHECK(store->list_hosts().empty());
    CHECK_FALSE(store->ca_certificate());

    CHECK_THAT(outputs.all, !Catch::Contains(password_of(pg.uri())));
}
