// PostgreSQL only: the schema, refusals and what errors show.

#include "common/store/migrations.hpp"
#include "common/store/pg_handle.hpp"
#include "common/store/store.hpp"
#include "common/store/store_location.hpp"
#include "tests/common/store/store_test_support.hpp"
#include "tests/support/pg_database.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <libpq-fe.h>
#include <map>

using namespace agentlb::store;
using namespace agentlb::store::test;
using agentlb::test::pg_cluster_dir;
using agentlb::test::PgTestDatabase;

namespace {

// One value of one query on a connection of its own.
std::string pg_value(const std::string& uri, const std::string& sql) {
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(uri.c_str()), &PQfinish);
    REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
    std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn.get(), sql.c_str()), &PQclear);
    REQUIRE(PQresultStatus(result.get()) == PGRES_TUPLES_OK);
    REQUIRE(PQntuples(result.get()) == 1);
    return PQgetvalue(result.get(), 0, 0);
}

std::string table_count(const std::string& uri) {
    return pg_value(uri, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()");
}

std::string password() {
    std::ifstream in(pg_cluster_dir() + "/password");
    std::string line;
    std::getline(in, line);
    return line;
}

// The StoreError of reading the schema versions, or "".
std::string versions_error(const std::string& db) {
    try {
        read_schema_versions(db);
    } catch (const StoreError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("a new PostgreSQL store gets every table and the current schema version") {
    PgTestDatabase database;
    CHECK(read_schema_versions(database.uri()).stored == 0);
    open_store(database.uri(), OpenMode::create);
    CHECK(pg_value(database.uri(),
                   "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
                   "WHERE schemaname = current_schema()") ==
          "agentlb_schema,applications,ca,certificates,configuration,generation,host_ids,hosts,rebalances,"
          "reissues,"
          "scoped_configuration,servers,superseded,ticket_keys,tokens,trusted_cas");
    const SchemaVersions versions = read_schema_versions(database.uri());
    CHECK(versions.stored == kSchemaVersion);
    CHECK(versions.known == kSchemaVersion);
}

TEST_CASE("case-insensitive host lookups use the lower() index") {
    PgTestDatabase database;
    open_store(database.uri(), OpenMode::create);
    // find_host's query; an empty table would be scanned, so scans are made dear.
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(database.uri().c_str()), &PQfinish);
    REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
    PQclear(PQexec(conn.get(), "SET enable_seqscan = off"));
    std::unique_ptr<PGresult, decltype(&PQclear)> plan(
        PQexec(conn.get(),
               "EXPLAIN SELECT id FROM hosts WHERE name = 'x' OR lower(name COLLATE \"C\") = "
               "lower('x' COLLATE \"C\") ORDER BY name = 'x' DESC, id LIMIT 1"),
        &PQclear);
    REQUIRE(PQresultStatus(plan.get()) == PGRES_TUPLES_OK);
    std::string lines;
    for (int row = 0; row < PQntuples(plan.get()); ++row) {
        lines += PQgetvalue(plan.get(), row, 0);
        lines += "\n";
    }
    INFO(lines);
    CHECK_THAT(lines, Catch::Contains("hosts_by_name_nocase"));
}

TEST_CASE("a PostgreSQL store with a newer schema version is refused, naming both versions") {
    PgTestDatabase database;
    open_store(database.uri(), OpenMode::create);
    raw_exec(database.uri(), "UPDATE agentlb_schema SET version = 99");
    for (const auto mode : {OpenMode::create, OpenMode::existing}) {
        const std::string message = open_error(database.uri(), mode);
        INFO(message);
        CHECK_THAT(message,
                   Catch::Contains("PostgreSQL store " + shown_location(database.uri()) +
                                   " has schema version 99, but this build of agentlb knows versions up to " +
                                   std::to_string(kSchemaVersion) + "; upgrade agentlb"));
    }
    CHECK(read_schema_versions(database.uri()).stored == 99);
    CHECK(pg_value(database.uri(), "SELECT version FROM agentlb_schema") == "99");
}

TEST_CASE("OpenMode::existing refuses a database without the agentlb schema and creates nothing") {
    PgTestDatabase database;
    const std::string message = open_error(database.uri(), OpenMode::existing);
    INFO(message);
    CHECK_THAT(message, Catch::Contains("holds no agentlb schema"));
    CHECK_THAT(message, Catch::Contains("agentlbctl ca init"));
    CHECK(table_count(database.uri()) == "0");
    CHECK(read_schema_versions(database.uri()).stored == 0);
}

TEST_CASE("another program's PostgreSQL database is refused and left untouched") {
    PgTestDatabase database;
    raw_exec(database.uri(), "CREATE TABLE hosts (x TEXT); INSERT INTO hosts VALUES ('theirs')");
    for (const auto mode : {OpenMode::create, OpenMode::existing}) {
        const std::string message = open_error(database.uri(), mode);
        INFO(message);
        CHECK_THAT(message, Catch::Contains("another program"));
    }
    CHECK(table_count(database.uri()) == "1");
    CHECK(pg_value(database.uri(), "SELECT x FROM hosts") == "theirs");
}

TEST_CASE("no error shows the password: wrong password, unreachable host, missing database") {
    PgTestDatabase database;
    const std::string secret = password();
    REQUIRE(database.uri().find(secret) != std::string::npos);
    const std::string wrong = "Wr0ngSecret" + secret.substr(0, 4);
    auto with = [&](const std::string& from, const std::string& to) {
        std::string uri = database.uri();
        uri.replace(uri.find(from), from.size(), to);
        return uri;
    };
    const std::map<std::string, std::string> cases = {
        {with(secret, wrong), "password authentication failed"},
        {with("@", "@localhost.invalid-"), "could not translate host name"},
        {with(database.name(), "no_such_db"), "does not exist"},
        {"host=127.0.0.1 port=1 user=agentlb password='" + secret + "' dbname=x connect_timeout=2",
         "Connection refused"},
    };
    for (const auto& [db, expected] : cases) {
        INFO(shown_location(db));
        const std::string opening = open_error(db, OpenMode::existing);
        const std::string versions = versions_error(db);
        std::string feed;
        try {
            open_change_feed(db);
        } catch (const StoreError& e) {
            feed = e.what();
        }
        for (const std::string& message : {opening, versions, feed}) {
            INFO(message);
            CHECK_THAT(message, Catch::Contains("cannot connect (") && Catch::Contains(expected));
            CHECK_THAT(message, Catch::Contains("***"));
            CHECK(message.find(secret) == std::string::npos);
            CHECK(message.find(wrong) == std::string::npos);
        }
    }
}

TEST_CASE("connection defaults are added unless the operator's string sets them") {
    auto value_of = [](const PgOptions& options, const std::string& keyword) -> std::string {
        for (std::size_t i = 0; i < options.keywords.size(); ++i) {
            if (options.keywords[i] == keyword) {
                return options.values[i];
            }
        }
        return "(unset)";
    };
    const PgOptions uri = pg_options("postgresql://u:pw@db1:5433/agentlb?connect_timeout=2");
    CHECK(value_of(uri, "connect_timeout") == "2");
    CHECK(value_of(uri, "keepalives") == "1");
    CHECK(value_of(uri, "keepalives_idle") == "5");
    CHECK(value_of(uri, "keepalives_interval") == "2");
    CHECK(value_of(uri, "keepalives_count") == "3");
    CHECK(value_of(uri, "tcp_user_timeout") == "10000");
    CHECK(value_of(uri, "application_name") == "agentlb");
    CHECK(value_of(uri, "host") == "db1");
    CHECK(value_of(uri, "port") == "5433");
    CHECK(uri.password == "pw");
    const PgOptions key_value =
        pg_options("host=db1 dbname=agentlb application_name=mine tcp_user_timeout=0");
    CHECK(value_of(key_value, "application_name") == "mine");
    CHECK(value_of(key_value, "tcp_user_timeout") == "0");
    CHECK(value_of(key_value, "connect_timeout") == "5");

    std::string message;
    try {
        pg_options("host=db1 password='sec ret");
    } catch (const StoreError& e) {
        message = e.what();
    }
    INFO(message);
    CHECK_THAT(message, Catch::Contains("not a valid connection string"));
    CHECK(message.find("sec") == std::string::npos);

    message.clear();
    try {
        pg_options("host=db1 s3cret");
    } catch (const StoreError& e) {
        message = e.what();
    }
    INFO(message);
    // libpq's echo of the part it could not parse is not repeated.
    CHECK_THAT(message, Catch::EndsWith("(missing \"=\" after \"…\" in connection info string)"));
}

TEST_CASE("the server's session carries application_name agentlb") {
    PgTestDatabase database;
    auto store = open_store(database.uri(), OpenMode::create);
    CHECK(pg_value(database.uri(),
                   "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                   "application_name = 'agentlb'") == "1");
}
