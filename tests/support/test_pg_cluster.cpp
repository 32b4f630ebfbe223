// The run's throwaway PostgreSQL cluster is there, and each test database is
// its own and gone afterwards.

#include "tests/support/pg_database.hpp"

#include <catch2/catch.hpp>

#include <libpq-fe.h>
#include <memory>

using agentlb::test::pg_exec;
using agentlb::test::PgTestDatabase;

TEST_CASE("each PgTestDatabase is a separate database, dropped when it ends") {
    std::string admin;
    std::string first_uri;
    {
        PgTestDatabase first;
        PgTestDatabase second;
        CHECK(first.name() != second.name());
        pg_exec(first.uri(), "CREATE TABLE only_here (x integer)");
        pg_exec(second.uri(), "CREATE TABLE only_here (x integer)");  // no clash: another database
        admin = first.admin_uri();
        first_uri = first.uri();
    }
    CHECK_THROWS_WITH(pg_exec(first_uri, "SELECT 1"), Catch::Contains("does not exist"));
    pg_exec(admin, "SELECT 1");
}

TEST_CASE("PgDatabaseAway ends the open connections and refuses new ones to its database only") {
    PgTestDatabase mine;
    PgTestDatabase other;
    std::unique_ptr<PGconn, decltype(&PQfinish)> open(PQconnectdb(mine.uri().c_str()), &PQfinish);
    REQUIRE(PQstatus(open.get()) == CONNECTION_OK);
    {
        agentlb::test::PgDatabaseAway away(mine);
        std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(open.get(), "SELECT 1"), &PQclear);
        CHECK(PQresultStatus(result.get()) != PGRES_TUPLES_OK);
        CHECK_THROWS_WITH(pg_exec(mine.uri(), "SELECT 1"),
                          Catch::Contains("not currently accepting connections"));
        pg_exec(other.uri(), "SELECT 1");
        away.restore();
        pg_exec(mine.uri(), "SELECT 1");
        agentlb::test::PgDatabaseAway again(mine);
    }
    // The destructor let connections in again.
    pg_exec(mine.uri(), "SELECT 1");
}

TEST_CASE("PgServerRole reaches the database as its own role, and is cut alone") {
    PgTestDatabase database;
    pg_exec(database.uri(), "CREATE TABLE t (x integer)");
    agentlb::test::PgServerRole role(database);
    pg_exec(role.uri(), "INSERT INTO t VALUES (1)");
    role.cut();
    CHECK_THROWS_WITH(pg_exec(role.uri(), "SELECT 1"), Catch::Contains("not permitted to log in"));
    pg_exec(database.uri(), "SELECT 1");
    role.restore();
    pg_exec(role.uri(), "SELECT x FROM t");
}
