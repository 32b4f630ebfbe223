#include "common/store/schema.hpp"
#include "common/store/store.hpp"
#include "tests/common/store/store_test_support.hpp"
#include "tests/support/damaged_store.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

using namespace agentlb::store;
using namespace agentlb::store::test;

namespace {

// Runs one single-value query on a raw connection (bypassing the store).
std::string raw_value(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
    std::string value;
    if (sqlite3_step(statement) == SQLITE_ROW) {
        const unsigned char* text = sqlite3_column_text(statement, 0);
        value = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    }
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return value;
}

// What version 10 added, taken away (both dialects).
const std::string kUndoV10 = "DROP TABLE applications; ALTER TABLE servers DROP COLUMN peer_address; ";

// What versions 9 and 10 added, taken away (both dialects).
const std::string kUndoV9 = kUndoV10 + "DROP TABLE ticket_keys; ";

// What versions 8 to 10 added, taken away (both dialects).
const std::string kUndoV8 = kUndoV9 + "ALTER TABLE ca DROP COLUMN chain_pem; ";

// What versions 7 to 10 added, taken away (both dialects).
const std::string kUndoV7 =
    kUndoV8 + "DROP TABLE trusted_cas; DROP TABLE reissues; DROP INDEX certificates_live_by_issuer; ";

// What versions 6 to 10 added, taken away (both dialects).
const std::string kUndoV6 =
    kUndoV7 +
    "DROP INDEX certificates_live_by_not_after; ALTER TABLE certificates DROP COLUMN kind; "
    "ALTER TABLE certificates DROP COLUMN subject; ALTER TABLE certificates DROP COLUMN issuer; "
    "ALTER TABLE certificates DROP COLUMN issued_at; ALTER TABLE tokens DROP COLUMN host_id; ";

// What versions 5 to 10 added, taken away (both dialects).
const std::string kUndoV5 = std::string(kUndoV6) +
                            "DROP TABLE scoped_configuration; ALTER TABLE hosts DROP COLUMN cluster; "
                            "ALTER TABLE tokens DROP COLUMN cluster; ";

std::set<std::string> raw_tables(const std::string& path) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(
        sqlite3_prepare_v2(db,
                           "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                           -1,
                           &statement,
                           nullptr) == SQLITE_OK);
    std::set<std::string> tables;
    while (sqlite3_step(statement) == SQLITE_ROW) {
        tables.insert(reinterpret_cast<const char*>(sqlite3_column_text(statement, 0)));
    }
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return tables;
}

}  // namespace

TEST_CASE("a new store file gets the schema, the current version and WAL mode", "[sqlite]") {
    TempDir dir;
    const std::string db = dir.file("new.db");
    {
        auto store = open_sqlite_store(db, OpenMode::create);
        CHECK(store->generation() == 0);
        CHECK(store->list_config().empty());
        CHECK(store->list_hosts().empty());
        CHECK(store->list_servers().empty());
        CHECK_FALSE(store->ca_certificate().has_value());
    }
    CHECK(raw_tables(db) == std::set<std::string>{"configuration",
                                                  "hosts",
                                                  "certificates",
                                                  "servers",
                                                  "tokens",
                                                  "generation",
                                                  "ca",
                                                  "superseded",
                                                  "rebalances",
                                                  "scoped_configuration",
                                                  "trusted_cas",
                                                  "reissues",
                                                  "ticket_keys",
                                                  "applications"});
    CHECK(raw_value(db, "PRAGMA user_version") == std::to_string(kSchemaVersion));
    CHECK(raw_value(db, "PRAGMA journal_mode") == "wal");
}

TEST_CASE("a version 1 store gets the case-insensitive host name index and keeps its hosts", "[sqlite]") {
    TempDir dir;
    const std::string db = dir.file("v1.db");
    {
        auto store = open_sqlite_store(db, OpenMode::create);
        store->create_token(TokenSpec{"hash-1", std::nullopt, std::nullopt, 100, 1});
        CountingIssuer issuer;
        REQUIRE(store->redeem_token(RedeemRequest{"hash-1", "kvm1", std::nullopt, 5}, issuer.fn()));
    }
    // What version 1 wrote: no index, version 1, and names differing in case.
    raw_exec(db,
             kUndoV5 +
                 "DROP INDEX hosts_by_name_nocase; DROP TABLE superseded; DROP TABLE rebalances; "
                 "ALTER TABLE servers DROP COLUMN maintenance; PRAGMA user_version = 1; "
                 "INSERT INTO hosts (name, zone, last_seen, created_at) VALUES ('KVM1', 'default', 0, 6)");
    auto store = open_sqlite_store(db, OpenMode::existing);
    CHECK(raw_value(db, "PRAGMA user_version") == std::to_string(kSchemaVersion));
    CHECK(store->list_hosts().size() == 2);
    CHECK(store->find_host("KVM1")->id == 2);
    // The lookup without regard to case uses the index, not a scan of every host.
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* plan = nullptr;
    REQUIRE(sqlite3_prepare_v2(raw,
                               "EXPLAIN QUERY PLAN SELECT id FROM hosts WHERE name = 'x' COLLATE NOCASE "
                               "ORDER BY id LIMIT 1",
                               -1,
                               &plan,
                               nullptr) == SQLITE_OK);
    std::string details;
    while (sqlite3_step(plan) == SQLITE_ROW) {
        details += reinterpret_cast<const char*>(sqlite3_column_text(plan, 3));
        details += "; ";
    }
    sqlite3_finalize(plan);
    sqlite3_close(raw);
    CHECK_THAT(details, Catch::Matchers::Contains("hosts_by_name_nocase"));
}

TEST_CASE("a version 3 store gets the maintenance flag and rebalance requests, keeping its servers") {
    TestLocation location;
    const std::string& db = location.db();
    {
        auto store = open_store(db, OpenMode::create);
        store->register_server("ms1", "10.0.0.1:8250", 100);
        store->register_server("ms2", "10.0.0.2:8250", 100);
        store->set_server_state("ms2", "down");
    }
    // What version 3 held: no maintenance column, no rebalances table.
    const std::string v4 = "DROP TABLE rebalances; ALTER TABLE servers DROP COLUMN maintenance; " + kUndoV5;
    raw_exec(db,
             v4 + (backend_of(db) == Backend::postgresql ? "UPDATE agentlb_schema SET version = 3"
                                                         : "PRAGMA user_version = 3"));
    REQUIRE(read_schema_versions(db).stored == 3);

    auto store = open_store(db, OpenMode::existing);
    CHECK(read_schema_versions(db).stored == kSchemaVersion);
    auto servers = store->list_servers();
    REQUIRE(servers.size() == 2);
    CHECK(servers[0].state == "up");
    CHECK_FALSE(servers[0].maintenance);
    CHECK(servers[1].state == "down");
    CHECK_FALSE(servers[1].maintenance);
    CHECK(store->last_rebalance_id() == 0);

    store->set_server_state("ms2", "up");
    const auto begun = store->begin_maintenance("ms1", 100, 30);
    REQUIRE(begun);
    CHECK(begun->state == "preparing");
    CHECK(store->list_servers()[0].maintenance);
    const auto id = store->request_rebalance(std::string_view("ms1"), 100);
    REQUIRE(id);
    CHECK(store->last_rebalance_id() == *id);
}

TEST_CASE("a version 4 store gets clusters and scoped configuration, keeping its hosts and values") {
    TestLocation location;
    const std::string& db = location.db();
    {
        auto store = open_store(db, OpenMode::create);
        REQUIRE(store->set_config("host", "ms1,ms2"));
        store->create_token(TokenSpec{"hash-1", std::string("z1"), std::nullopt, 100, 1});
        store->create_token(TokenSpec{"hash-2", std::string("z1"), std::nullopt, 100, 1});
        CountingIssuer issuer;
        REQUIRE(store->redeem_token(RedeemRequest{"hash-1", "kvm1", std::nullopt, 5}, issuer.fn()));
    }
    raw_exec(db,
             kUndoV5 + (backend_of(db) == Backend::postgresql ? "UPDATE agentlb_schema SET version = 4"
                                                              : "PRAGMA user_version = 4"));
    REQUIRE(read_schema_versions(db).stored == 4);

    auto store = open_store(db, OpenMode::existing);
    CHECK(read_schema_versions(db).stored == kSchemaVersion);
    const auto host = store->find_host("kvm1");
    REQUIRE(host);
    CHECK(host->zone == "z1");
    CHECK(host->cluster.empty());
    CHECK(store->get_config("host") == std::optional<std::string>("ms1,ms2"));
    CHECK(store->scoped_config().overrides.empty());

    // An unused v4 token still works and gives no cluster; the new parts work.
    CountingIssuer issuer;
    auto redeemed = store->redeem_token(RedeemRequest{"hash-2", "kvm2", std::nullopt, 6}, issuer.fn());
    REQUIRE(redeemed);
    CHECK(redeemed->host.cluster.empty());
    REQUIRE(store->set_scoped_config(agentlb::lb::ConfigScope{"z1", "c1"}, "host", "ms2"));
    REQUIRE(store->move_host("kvm1", agentlb::lb::ConfigScope{"z1", "c1"}));
    CHECK(store->find_host("kvm1")->cluster == "c1");
}

TEST_CASE(
    "a version 5 store's certificates become agent certificates of the store's CA, named after their host") {
    TestLocation location;
    const std::string& db = location.db();
    CountingIssuer issuer;
    {
        auto store = open_store(db, OpenMode::create);
        store->put_ca_certificate("CA PEM", "sha256:ca5");
        store->create_token(TokenSpec{"hash-1", std::nullopt, std::nullopt, 100, 1});
        store->create_token(TokenSpec{"hash-2", std::nullopt, std::string("kvm1"), 100, 1});
        REQUIRE(store->redeem_token(RedeemRequest{"hash-1", "kvm1", std::nullopt, 5}, issuer.fn()));
    }
    raw_exec(db,
             kUndoV6 + (backend_of(db) == Backend::postgresql ? "UPDATE agentlb_schema SET version = 5"
                                                              : "PRAGMA user_version = 5"));
    REQUIRE(read_schema_versions(db).stored == 5);

    auto store = open_store(db, OpenMode::existing);
    CHECK(read_schema_versions(db).stored == kSchemaVersion);
    const auto records = store->certificates_of("kvm1");
    REQUIRE(records.size() == 1);
    CHECK(records[0].kind == "agent");
    CHECK(records[0].subject == "kvm1");
    CHECK(records[0].issuer == "sha256:ca5");
    CHECK(records[0].issued_at == 0);  // not known
    CHECK(store->count_certificates("agent", 2000, 0) == 1);

    // A v5 token has no host id and re-enrols by name as before.
    const auto again = store->redeem_token(RedeemRequest{"hash-2", "kvm1", std::nullopt, 6}, issuer.fn());
    REQUIRE(again);
    CHECK(again->host.id == 1);
}

TEST_CASE("a version 6 store's CA becomes its one trusted CA, active") {
    TestLocation location;
    const std::string& db = location.db();
    {
        auto store = open_store(db, OpenMode::create);
        store->put_ca_certificate("CA PEM", "sha256:ca6");
    }
    raw_exec(db,
             kUndoV7 + (backend_of(db) == Backend::postgresql ? "UPDATE agentlb_schema SET version = 6"
                                                              : "PRAGMA user_version = 6"));
    REQUIRE(read_schema_versions(db).stored == 6);

    auto store = open_store(db, OpenMode::existing);
    CHECK(read_schema_versions(db).stored == kSchemaVersion);
    const auto trusted = store->trusted_cas();
    REQUIRE(trusted.size() == 1);
    CHECK(trusted[0].fingerprint == "sha256:ca6");
    CHECK(trusted[0].pem == "CA PEM");
    CHECK(trusted[0].state == "active");
    CHECK(store->last_reissue_id() == 0);
}

TEST_CASE("a version 9 store gets peer link addresses and applications, keeping its servers") {
    TestLocation location;
    const std::string& db = location.db();
    {
        auto store = open_store(db, OpenMode::create);
        store->register_server("ms1", "10.0.0.1:8250", 100);
        store->register_server("ms2", "10.0.0.2:8250", 101);
        REQUIRE(store->begin_maintenance("ms2", 101, 30));
    }
    raw_exec(db,
             kUndoV10 + (backend_of(db) == Backend::postgresql ? "UPDATE agentlb_schema SET version = 9"
                                                               : "PRAGMA user_version = 9"));
    REQUIRE(read_schema_versions(db).stored == 9);

    auto store = open_store(db, OpenMode::existing);
    CHECK(read_schema_versions(db).stored == kSchemaVersion);
    auto servers = store->list_servers();
    REQUIRE(servers.size() == 2);
    CHECK(servers[0].address == "10.0.0.1:8250");
    CHECK(servers[0].peer_address.empty());
    CHECK(servers[1].peer_address.empty());
    CHECK(servers[1].maintenance);
    CHECK(servers[1].state == "preparing");
    CHECK(store->applications_named("cloudstack").empty());

    store->set_peer_address("ms2", "10.0.0.2:8260");
    CHECK(store->list_servers()[1].peer_address == "10.0.0.2:8260");
    store->add_application(ApplicationRecord{"ms2", "cloudstack", 7, 110});
    CHECK(store->applications_named("cloudstack") ==
          std::vector<ApplicationRecord>{ApplicationRecord{"ms2", "cloudstack", 7, 110}});
}

TEST_CASE("reopening a store keeps its data") {
    TestLocation location;
    const std::string& db = location.db();
    std::int64_t generation = 0;
    {
        auto store = open_store(db, OpenMode::create);
        REQUIRE(store->set_config("indirect.agent.lb.algorithm", "roundrobin"));
        store->create_token(TokenSpec{"hash-1", std::string("z1"), std::nullopt, 100, 1});
        CountingIssuer issuer;
        REQUIRE(store->redeem_token(RedeemRequest{"hash-1", "h1", std::nullopt, 5}, issuer.fn()));
        store->register_server("ms1", "10.0.0.1:8250", 7);
        store->put_ca_certificate("CA PEM", "sha256:AB");
        generation = store->generation();
    }
    auto store = open_store(db, OpenMode::create);
    CHECK(store->get_config("indirect.agent.lb.algorithm") == std::optional<std::string>("roundrobin"));
    auto host = store->find_host("h1");
    REQUIRE(host.has_value());
    CHECK(host->id == 1);
    CHECK(host->zone == "z1");
    CHECK(host->created_at == 5);
    CHECK(store->certificates_of("h1").size() == 1);
    auto servers = store->list_servers();
    REQUIRE(servers.size() == 1);
    CHECK(servers[0].address == "10.0.0.1:8250");
    CHECK(store->ca_certificate() ==
          std::optional<std::pair<std::string, std::string>>({"CA PEM", "sha256:AB"}));
    CHECK(store->generation() == generation);
    CHECK(generation > 0);
}

TEST_CASE("opening a file that is not a database throws StoreError with a clear message", "[sqlite]") {
    TempDir dir;
    const std::string path = dir.file("notes.txt");
    {
        std::ofstream out(path);
        for (int i = 0; i < 64; ++i) {
            out << "this is a text file, not an SQLite database\n";
        }
    }
    std::string message = open_error(path);
    INFO(message);
    CHECK_THAT(message, Catch::Matchers::Contains(path));
    CHECK_THAT(message, Catch::Matchers::Contains("not a database"));
    CHECK_THAT(message, Catch::Matchers::Contains("not an agentlb store"));
}

TEST_CASE("opening a store in a missing folder throws StoreError naming the path", "[sqlite]") {
    TempDir dir;
    const std::string path = dir.file("missing/folder/agentlb.db");
    std::string message = open_error(path);
    INFO(message);
    CHECK_THAT(message, Catch::Matchers::Contains(path));
    CHECK_THAT(message, Catch::Matchers::Contains("cannot open"));
}

TEST_CASE("a store file with a newer schema version is refused, naming both versions", "[sqlite]") {
    TempDir dir;
    const std::string db = dir.file("newer.db");
    open_sqlite_store(db, OpenMode::create);
    raw_exec(db, "PRAGMA user_version = 99");
    std::string message = open_error(db);
    INFO(message);
    CHECK_THAT(message, Catch::Matchers::Contains("schema version 99"));
    CHECK_THAT(message, Catch::Matchers::Contains("versions up to " + std::to_string(kSchemaVersion)));
    CHECK(raw_value(db, "PRAGMA user_version") == "99");
    CHECK(raw_value(db, "PRAGMA journal_mode") == "wal");  // set when it was ours
}

TEST_CASE("OpenMode::create initialises an empty existing file as a new store", "[sqlite]") {
    TempDir dir;
    const std::string db = dir.file("empty.db");
    { std::ofstream touch(db); }
    auto store = open_sqlite_store(db, OpenMode::create);
    REQUIRE(store->set_config("host", "ms1"));
    CHECK(store->get_config("host") == std::optional<std::string>("ms1"));
}

TEST_CASE("OpenMode::existing refuses a missing file and creates nothing", "[sqlite]") {
    TempDir dir;
    const std::string db = dir.file("missing.db");
    const std::string message = open_error(db, OpenMode::existing);
    INFO(message);
    CHECK_THAT(message, Catch::Matchers::Contains("store \"" + db + "\" does not exist"));
    CHECK_THAT(message, Catch::Matchers::Contains("agentlbctl --db " + db + " ca init"));
    CHECK_FALSE(std::filesystem::exists(db));
    CHECK_FALSE(std::filesystem::exists(db + "-wal"));
}

TEST_CASE("OpenMode::existing refuses an empty file and leaves it empty", "[sqlite]") {
    TempDir dir;
    const std::string db = dir.file("empty.db");
    { std::ofstream touch(db); }
    const std::string message = open_error(db, OpenMode::existing);
    INFO(message);
    CHECK_THAT(message, Catch::Matchers::Contains("store \"" + db + "\" is an empty file (0 bytes)"));
    CHECK_THAT(message, Catch::Matchers::Contains("agentlbctl ca init"));
    CHECK(std::filesystem::file_size(db) == 0);
    CHECK_FALSE(std::filesystem::exists(db + "-wal"));
    CHECK_FALSE(std::filesystem::exists(db + "-shm"));
}

TEST_CASE("OpenMode::existing refuses an SQLite database without tables and leaves it alone", "[sqlite]") {
    TempDir dir;
    const std::string db = dir.file("blank.db");
    raw_exec(db, "PRAGMA page_size = 4096; VACUUM");
    REQUIRE(std::filesystem::file_size(db) > 0);
    const std::string message = open_error(db, OpenMode::existing);
    INFO(message);
    CHECK_THAT(message, Catch::Matchers::Contains("store \"" + db + "\" holds no agentlb schema"));
    CHECK(raw_tables(db).empty());
    CHECK(raw_value(db, "PRAGMA journal_mode") == "delete");
}

TEST_CASE("OpenMode::existing opens a store that OpenMode::create made") {
    TestLocation location;
    const std::string& db = location.db();
    REQUIRE(open_store(db, OpenMode::create)->set_config("host", "ms1"));
    auto store = open_store(db, OpenMode::existing);
    CHECK(store->get_config("host") == std::optional<std::string>("ms1"));
}

TEST_CASE("quick_check passes a sound store and names the first problem of a damaged one", "[sqlite]") {
    TempDir dir;
    {
        auto sound = open_sqlite_store(dir.file("sound.db"), OpenMode::create);
        sound->create_token(TokenSpec{"hash-1", std::nullopt, std::nullopt, 100, 1});
        CHECK_FALSE(sound->quick_check().has_value());
    }
    const std::string db = dir.file("damaged.db");
    agentlb::test::write_damaged_store(db, "CA PEM", "sha256:AB");
    auto damaged = open_sqlite_store(db, OpenMode::existing);
    const auto problem = damaged->quick_check();
    REQUIRE(problem.has_value());
    INFO(*problem);
    // SQLite's own words, on one line: which page is broken.
    CHECK_THAT(*problem, Catch::Matchers::Contains("Page "));
    CHECK(problem->find('\n') == std::string::npos);
}

TEST_CASE("another program's SQLite database is refused and left untouched", "[sqlite]") {
    TempDir dir;
    const std::string db = dir.file("other.db");
    raw_exec(db, "CREATE TABLE hosts (x TEXT); INSERT INTO hosts VALUES ('theirs')");
    std::string message = open_error(db);
    INFO(message);
    CHECK_THAT(message, Catch::Matchers::Contains(db));
    CHECK_THAT(message, Catch::Matchers::Contains("another program"));
    CHECK(raw_tables(db) == std::set<std::string>{"hosts"});
    CHECK(raw_value(db, "SELECT x FROM hosts") == "theirs");
    CHECK(raw_value(db, "PRAGMA journal_mode") == "delete");
}
