#include "common/store/store.hpp"
#include "tests/common/store/store_test_support.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

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

void raw_exec(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) ==
            SQLITE_OK);
    REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
}

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

TEST_CASE("a new store file gets the schema, version 2 and WAL mode") {
    TempDir dir;
    const std::string db = dir.file("new.db");
    {
        auto store = open_sqlite_store(db);
        CHECK(store->generation() == 0);
        CHECK(store->list_config().empty());
        CHECK(store->list_hosts().empty());
        CHECK(store->list_servers().empty());
        CHECK_FALSE(store->ca_certificate().has_value());
    }
    CHECK(
        raw_tables(db) ==
        std::set<std::string>{
            "configuration", "hosts", "certificates", "servers", "tokens", "generation", "ca", "superseded"});
    CHECK(raw_value(db, "PRAGMA user_version") == "2");
    CHECK(raw_value(db, "PRAGMA journal_mode") == "wal");
}

TEST_CASE("reopening a store keeps its data") {
    TempDir dir;
    const std::string db = dir.file("keep.db");
    std::int64_t generation = 0;
    {
        auto store = open_sqlite_store(db);
        REQUIRE(store->set_config("indirect.agent.lb.algorithm", "roundrobin"));
        store->create_token(TokenSpec{"hash-1", std::string("z1"), std::nullopt, 100, 1});
        CountingIssuer issuer;
        REQUIRE(store->redeem_token(RedeemRequest{"hash-1", "h1", std::nullopt, 5}, issuer.fn()));
        store->register_server("ms1", "10.0.0.1:8250", 7);
        store->put_ca_certificate("CA PEM", "sha256:AB");
        generation = store->generation();
    }
    auto store = open_sqlite_store(db);
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

TEST_CASE("opening a file that is not a database throws StoreError with a clear message") {
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

TEST_CASE("opening a store in a missing folder throws StoreError naming the path") {
    TempDir dir;
    const std::string path = dir.file("missing/folder/agentlb.db");
    std::string message = open_error(path);
    INFO(message);
    CHECK_THAT(message, Catch::Matchers::Contains(path));
    CHECK_THAT(message, Catch::Matchers::Contains("cannot open"));
}

TEST_CASE("a store file with a newer schema version is refused, naming both versions") {
    TempDir dir;
    const std::string db = dir.file("newer.db");
    open_sqlite_store(db);
    raw_exec(db, "PRAGMA user_version = 7");
    std::string message = open_error(db);
    INFO(message);
    CHECK_THAT(message, Catch::Matchers::Contains("schema version 7"));
    CHECK_THAT(message, Catch::Matchers::Contains("versions up to 2"));
    CHECK(raw_value(db, "PRAGMA user_version") == "7");
    CHECK(raw_value(db, "PRAGMA journal_mode") == "wal");  // set when it was ours
}

TEST_CASE("an empty existing file is initialised as a new store") {
    TempDir dir;
    const std::string db = dir.file("empty.db");
    { std::ofstream touch(db); }
    auto store = open_sqlite_store(db);
    REQUIRE(store->set_config("host", "ms1"));
    CHECK(store->get_config("host") == std::optional<std::string>("ms1"));
}

TEST_CASE("another program's SQLite database is refused and left untouched") {
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
