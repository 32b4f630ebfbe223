// agentlbctl db version / db migrate / db copy on SQLite stores, and --db
// locations that carry a password, run as a process.

#include "common/store/schema.hpp"
#include "tests/tools/ctl_fixture.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

using namespace agentlb;
using namespace agentlb::test;

namespace {

const std::string kKnown = std::to_string(store::kSchemaVersion);

void raw_exec(const std::string& db, const std::string& sql) {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &error);
    INFO((error != nullptr ? error : ""));
    sqlite3_free(error);
    sqlite3_close(raw);
    REQUIRE(rc == SQLITE_OK);
}

int user_version(const std::string& db) {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &statement, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
    const int version = sqlite3_column_int(statement, 0);
    sqlite3_finalize(statement);
    sqlite3_close(raw);
    return version;
}

// What schema versions 3 to 10 (v8: the CA chain, v9: ticket keys, v10: peer link addresses and
// applications) added (see common/store/migrations.cpp):
// taking it away leaves the store version 2 wrote.
void make_version_2(const std::string& db) {
    raw_exec(db,
             "DROP TABLE trusted_cas; DROP TABLE reissues; DROP INDEX certificates_live_by_issuer; "
             "DROP INDEX certificates_live_by_not_after; ALTER TABLE certificates DROP COLUMN kind; "
             "ALTER TABLE certificates DROP COLUMN subject; ALTER TABLE certificates DROP COLUMN issuer; "
             "ALTER TABLE certificates DROP COLUMN issued_at; ALTER TABLE tokens DROP COLUMN host_id; "
             "DROP TABLE scoped_configuration; ALTER TABLE hosts DROP COLUMN cluster; "
             "ALTER TABLE tokens DROP COLUMN cluster; "
             "DROP TABLE rebalances; ALTER TABLE servers DROP COLUMN maintenance; DROP TABLE superseded; "
             "ALTER TABLE ca DROP COLUMN chain_pem; DROP TABLE ticket_keys; "
             "DROP TABLE applications; ALTER TABLE servers DROP COLUMN peer_address; "
             "PRAGMA user_version = 2");
}

std::string describe(const CommandResult& result) {
    return "exit " + std::to_string(result.exit_code) + "\n--- stdout\n" + result.out + "--- stderr\n" +
           result.err;
}

}  // namespace

TEST_CASE("db version prints the stored schema version and the one this build knows, also as JSON") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", "host", "ms1"}).exit_code == 0);

    const CommandResult text = f.ctl({"db", "version"});
    INFO(describe(text));
    CHECK(text.exit_code == 0);
    CHECK(text.out == "store " + f.db + "\nstored schema version " + kKnown + "; this build knows " + kKnown +
                          "\nup to date\n");
    CHECK(text.err.empty());

    CHECK(f.ctl_json({"db", "version"}) == nlohmann::json{{"store", f.db},
                                                          {"stored", store::kSchemaVersion},
                                                          {"known", store::kSchemaVersion},
                                                          {"state", "current"}});
}

TEST_CASE("db migrate brings a version 2 store to the current version, says so, and is idempotent") {
    CtlFixture f;
    const std::int64_t id = f.enrol("h1");
    make_version_2(f.db);

    const nlohmann::json before = f.ctl_json({"db", "version"});
    CHECK(before["stored"] == 2);
    CHECK(before["state"] == "older");
    CHECK_THAT(f.ctl({"db", "version"}).out, Catch::Contains("`agentlbctl db migrate`"));

    const CommandResult migrated = f.ctl({"db", "migrate"});
    INFO(describe(migrated));
    CHECK(migrated.exit_code == 0);
    CHECK(migrated.out == "store " + f.db + ": schema migrated from 2 to " + kKnown + "\n");
    CHECK(user_version(f.db) == store::kSchemaVersion);
    CHECK(f.open()->find_host("h1")->id == id);

    const CommandResult again = f.ctl({"db", "migrate"});
    CHECK(again.exit_code == 0);
    CHECK(again.out == "store " + f.db + ": already at schema version " + kKnown + "\n");
    CHECK(f.ctl_json({"db", "migrate"}) == nlohmann::json{{"store", f.db},
                                                          {"from", store::kSchemaVersion},
                                                          {"to", store::kSchemaVersion},
                                                          {"migrated", false}});
}

TEST_CASE(
    "db migrate gives an empty file the schema, and on a missing store db version and migrate create "
    "nothing") {
    CtlFixture f;
    { std::ofstream touch(f.db); }
    CHECK(f.ctl_json({"db", "version"})["state"] == "empty");
    const CommandResult created = f.ctl({"db", "migrate"});
    INFO(describe(created));
    CHECK(created.exit_code == 0);
    CHECK(created.out == "store " + f.db + ": schema created, from 0 (empty) to " + kKnown + "\n");
    CHECK(user_version(f.db) == store::kSchemaVersion);

    const std::string missing = (f.dir / "missing.db").string();
    for (const std::string command : {"version", "migrate"}) {
        const CommandResult result = f.ctl_raw({"--db", missing, "db", command});
        INFO(describe(result));
        CHECK(result.exit_code == 1);
        CHECK_THAT(result.err, Catch::Contains("no store at \"" + missing + "\" (from --db)"));
    }
    CHECK_FALSE(std::filesystem::exists(missing));
}

TEST_CASE("a store newer than this build: db version says so with exit 2, migrate and copy refuse it") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", "host", "ms1"}).exit_code == 0);
    raw_exec(f.db, "PRAGMA user_version = 99");

    const CommandResult version = f.ctl({"db", "version"});
    INFO(describe(version));
    CHECK(version.exit_code == 2);
    CHECK_THAT(version.out, Catch::Contains("stored schema version 99; this build knows " + kKnown));
    CHECK_THAT(version.out, Catch::Contains("newer than this build: upgrade agentlb"));
    CHECK_THAT(version.err,
               Catch::Contains("the store \"" + f.db +
                               "\" has schema version 99, newer than this build of "
                               "agentlb knows (" +
                               kKnown + ")"));
    const CommandResult json = f.ctl({"--json", "db", "version"});
    CHECK(json.exit_code == 2);
    CHECK(nlohmann::json::parse(json.out)["state"] == "newer");

    const CommandResult migrate = f.ctl({"db", "migrate"});
    INFO(describe(migrate));
    CHECK(migrate.exit_code == 2);
    CHECK(migrate.out.empty());
    CHECK_THAT(migrate.err, Catch::Contains("has schema version 99"));
    CHECK(user_version(f.db) == 99);

    const std::string target = (f.dir / "copy.db").string();
    const CommandResult from_newer = f.ctl_raw({"db", "copy", "--from", f.db, "--to", target});
    CHECK(from_newer.exit_code == 2);
    CHECK_THAT(from_newer.err, Catch::Contains("has schema version 99"));
    CHECK_FALSE(std::filesystem::exists(target));

    const std::string source = (f.dir / "source.db").string();
    REQUIRE(f.ctl_raw({"--db", source, "config", "set", "host", "ms1"}).exit_code == 0);
    const CommandResult into_newer = f.ctl_raw({"db", "copy", "--from", source, "--to", f.db});
    CHECK(into_newer.exit_code == 2);
    CHECK_THAT(into_newer.err, Catch::Contains("\"" + f.db + "\" has schema version 99"));
    CHECK(user_version(f.db) == 99);
}

TEST_CASE(
    "db copy moves configuration, hosts with their ids, certificates with revocations, tokens and the CA") {
    CtlFixture f;
    f.seed_everything();
    const std::string target = (f.dir / "copy.db").string();

    const CommandResult copied = f.ctl_raw({"db", "copy", "--from", f.db, "--to", target});
    INFO(describe(copied));
    REQUIRE(copied.exit_code == 0);
    const std::string fingerprint = f.open()->ca_certificate()->second;
    CHECK(copied.out == "copied \"" + f.db + "\" to \"" + target +
                            "\"\n"
                            "  configuration keys  2\n"
                            "  scoped values       1\n"
                            "  hosts               2\n"
                            "  certificates        5 (2 revoked)\n"
                            "  join tokens         6\n"
                            "  CA certificate      " +
                            fingerprint + "\n");

    const nlohmann::json source = read_back(f, f.db);
    const nlohmann::json copy = read_back(f, target);
    CHECK(copy == source);
    CHECK(copy["revoked"] == nlohmann::json{"serial-h1", "serial-h2"});
    CHECK(copy["hosts"].size() == 2);
    // Ids are never given twice: the next host comes after removed h2's id too.
    CtlFixture g;
    g.db = target;
    CHECK(g.enrol("h5") == 4);
}

TEST_CASE("db copy --json prints the counts and the CA fingerprint") {
    CtlFixture f;
    f.seed_everything();
    const std::string target = (f.dir / "copy.db").string();
    const CommandResult copied = f.ctl_raw({"--json", "db", "copy", "--from", f.db, "--to", target});
    INFO(describe(copied));
    REQUIRE(copied.exit_code == 0);
    CHECK(nlohmann::json::parse(copied.out) ==
          nlohmann::json{{"from", f.db},
                         {"to", target},
                         {"config", 2},
                         {"scoped_values", 1},
                         {"hosts", 2},
                         {"certificates", 5},
                         {"revoked_certificates", 2},
                         {"tokens", 6},
                         {"ca_fingerprint", f.open()->ca_certificate()->second}});
}

TEST_CASE("db copy into a store that is not empty is refused with exit 2 and writes nothing") {
    CtlFixture f;
    f.seed_everything();

    SECTION("a target with a host") {
        CtlFixture target;
        target.enrol("other");
        const CommandResult refused = f.ctl_raw({"db", "copy", "--from", f.db, "--to", target.db});
        INFO(describe(refused));
        CHECK(refused.exit_code == 2);
        CHECK_THAT(refused.err, Catch::Contains("\"" + target.db + "\" is not empty"));
        CHECK_THAT(refused.err, Catch::Contains("nothing was copied"));
        CHECK(refused.out.empty());
        auto store = target.open();
        CHECK(store->list_hosts().size() == 1);
        CHECK(store->list_config().empty());
        CHECK_FALSE(store->ca_certificate());
    }
    SECTION("a target with configuration only") {
        CtlFixture target;
        REQUIRE(target.ctl({"config", "set", "indirect.agent.lb.check.interval", "30"}).exit_code == 0);
        const CommandResult refused = f.ctl_raw({"db", "copy", "--from", f.db, "--to", target.db});
        INFO(describe(refused));
        CHECK(refused.exit_code == 2);
        CHECK_THAT(refused.err, Catch::Contains("is not empty (it holds 1 configuration keys"));
        auto store = target.open();
        CHECK(store->list_config() ==
              std::map<std::string, std::string>{{"indirect.agent.lb.check.interval", "30"}});
        CHECK(store->list_hosts().empty());
    }
    SECTION("the same store twice, spelled differently") {
        const std::string other_spelling = (f.dir / "." / "agentlb.db").string();
        const CommandResult refused = f.ctl_raw({"db", "copy", "--from", f.db, "--to", other_spelling});
        INFO(describe(refused));
        CHECK(refused.exit_code == 2);
        CHECK_THAT(refused.err, Catch::Contains("--from and --to name the same store"));
    }
}

TEST_CASE("db copy needs --from and --to, and a missing source fails with exit 1 creating no target") {
    CtlFixture f;
    const std::string target = (f.dir / "copy.db").string();
    const CommandResult no_from = f.ctl_raw({"db", "copy", "--to", target});
    CHECK(no_from.exit_code == 2);
    CHECK_THAT(no_from.err, Catch::Contains("missing --from LOCATION"));
    const CommandResult no_to = f.ctl({"db", "copy", "--from", f.db});
    CHECK(no_to.exit_code == 2);
    CHECK_THAT(no_to.err, Catch::Contains("missing --to LOCATION"));

    const CommandResult missing = f.ctl_raw({"db", "copy", "--from", f.db, "--to", target});
    INFO(describe(missing));
    CHECK(missing.exit_code == 1);
    CHECK_THAT(missing.err, Catch::Contains("no store at \"" + f.db + "\" (from --from)"));
    CHECK_FALSE(std::filesystem::exists(target));
}

TEST_CASE("a PostgreSQL location's password is never shown, whatever fails") {
    CtlFixture f;
    REQUIRE(f.ctl({"config", "set", "host", "ms1"}).exit_code == 0);
    // Port 1: nothing listens, so every command fails at connecting.
    const std::string uri = "postgresql://agentlb:pw-Secret-1@127.0.0.1:1/agentlb?connect_timeout=2";
    const std::string key_value = "host=127.0.0.1 port=1 dbname=agentlb user=agentlb password=pw-Secret-2";
    for (const auto& location : {uri, key_value}) {
        for (const std::vector<std::string>& command :
             std::vector<std::vector<std::string>>{{"status"},
                                                   {"--json", "status"},
                                                   {"config", "get", "host"},
                                                   {"config", "set", "host", "ms2"},
                                                   {"db", "version"},
                                                   {"db", "migrate"},
                                                   {"host", "list"}}) {
            std::vector<std::string> argv{"--db", location};
            argv.insert(argv.end(), command.begin(), command.end());
            const CommandResult result = f.ctl_raw(argv);
            INFO(command.back() << "\n" << describe(result));
            CHECK(result.exit_code == 1);
            CHECK_THAT(result.err, Catch::Contains("***"));
            CHECK_THAT(result.out + result.err, !Catch::Contains("pw-Secret"));
        }
        const CommandResult from_env = f.ctl_raw({"status"}, {{"AGENTLB_DB", location}});
        CHECK(from_env.exit_code == 1);
        CHECK_THAT(from_env.out + from_env.err, !Catch::Contains("pw-Secret"));

        const CommandResult copy_to = f.ctl_raw({"db", "copy", "--from", f.db, "--to", location});
        INFO(describe(copy_to));
        CHECK(copy_to.exit_code == 1);
        CHECK_THAT(copy_to.out + copy_to.err, !Catch::Contains("pw-Secret"));
        const CommandResult copy_from = f.ctl_raw({"db", "copy", "--from", location, "--to", f.db});
        INFO(describe(copy_from));
        CHECK(copy_from.exit_code == 1);
        CHECK_THAT(copy_from.out + copy_from.err, !Catch::Contains("pw-Secret"));
    }
}
