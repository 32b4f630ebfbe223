// The run's throwaway PostgreSQL cluster is there, and each test database is
// its own and gone afterwards.

#include "tests/support/pg_database.hpp"

#include <catch2/catch.hpp>

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
