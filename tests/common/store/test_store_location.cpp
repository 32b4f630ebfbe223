#include "common/store/store_location.hpp"

#include <catch2/catch.hpp>

using agentlb::store::Backend;
using agentlb::store::backend_of;
using agentlb::store::shown_location;

TEST_CASE("backend_of: URIs and key=value strings are PostgreSQL, anything else an SQLite path") {
    CHECK(backend_of("postgresql://db1/agentlb") == Backend::postgresql);
    CHECK(backend_of("postgres://u@db1:5433/agentlb?sslmode=require") == Backend::postgresql);
    CHECK(backend_of("PostgreSQL://db1/agentlb") == Backend::postgresql);
    CHECK(backend_of("host=db1,db2 dbname=agentlb target_session_attrs=read-write") == Backend::postgresql);
    CHECK(backend_of("  dbname = agentlb") == Backend::postgresql);
    CHECK(backend_of("/var/lib/agentlb/agentlb.db") == Backend::sqlite);
    CHECK(backend_of("agentlb.db") == Backend::sqlite);
    CHECK(backend_of("./host=x.db") == Backend::sqlite);
    CHECK(backend_of(":memory:") == Backend::sqlite);
    CHECK(backend_of("postgresql.db") == Backend::sqlite);
}

TEST_CASE("shown_location hides a URI's password in its user info and its query") {
    CHECK(shown_location("postgresql://agentlb:s3cret@db1:5432/agentlb") ==
          "postgresql://agentlb:***@db1:5432/agentlb");
    CHECK(shown_location("postgres://agentlb:p%40ss@db1,db2/agentlb?sslmode=verify-full&password=x2&a=b") ==
          "postgres://agentlb:***@db1,db2/agentlb?sslmode=verify-full&password=***&a=b");
    CHECK(shown_location("postgresql://agentlb@db1/agentlb") == "postgresql://agentlb@db1/agentlb");
    CHECK(shown_location("postgresql:///agentlb?host=/run/postgresql") ==
          "postgresql:///agentlb?host=/run/postgresql");
    CHECK(shown_location("postgresql://u:pw@db1") == "postgresql://u:***@db1");
}

TEST_CASE("shown_location hides a key=value string's password, quoted or not") {
    CHECK(shown_location("host=db1 password=s3cret dbname=agentlb") ==
          "host=db1 password=*** dbname=agentlb");
    CHECK(shown_location("host=db1 password = 'it''s' dbname=x").find("it") == std::string::npos);
    CHECK(shown_location("password='a \\' b' user=agentlb") == "password=*** user=agentlb");
    CHECK(shown_location("user=agentlb password='unterminated secret") == "user=agentlb password=***");
    const std::string spaced = shown_location("host=db1 password=sec ret dbname=x");
    CHECK(spaced.find("ret") == std::string::npos);
    CHECK(spaced.find("sec") == std::string::npos);
    const std::string broken = shown_location("host=db1 garbage password=s3cret");
    CHECK(broken.find("s3cret") == std::string::npos);
    CHECK(broken.rfind("host=db1", 0) == 0);
}

TEST_CASE("shown_location keeps an SQLite path as given") {
    CHECK(shown_location("/var/lib/agentlb/agentlb.db") == "/var/lib/agentlb/agentlb.db");
}
