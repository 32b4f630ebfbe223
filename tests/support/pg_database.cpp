#include "tests/support/pg_database.hpp"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <libpq-fe.h>
#include <memory>
#include <random>
#include <stdexcept>
#include <unistd.h>

namespace agentlb::test {

namespace {

std::string read_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (!std::getline(in, line)) {
        throw std::runtime_error("cannot read " + path + " (is the CTest fixture `postgresql` running?)");
    }
    return line;
}

std::string unique_name() {
    static std::atomic<int> counter{0};
    std::random_device random;
    return "t" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1)) + "_" +
           std::to_string(random() % 1000000);
}

}  // namespace

std::string pg_cluster_dir() {
    const char* dir = std::getenv("AGENTLB_TEST_PG_DIR");
    if (dir == nullptr || *dir == '\0') {
        throw std::runtime_error(
            "AGENTLB_TEST_PG_DIR is not set: register this test with agentlb_add_test(... POSTGRESQL)");
    }
    return dir;
}

void pg_exec(const std::string& uri, const std::string& sql) {
    std::unique_ptr<PGconn, decltype(&PQfinish)> connection(PQconnectdb(uri.c_str()), &PQfinish);
    if (PQstatus(connection.get()) != CONNECTION_OK) {
        throw std::runtime_error("cannot connect to the test PostgreSQL: " +
                                 std::string(PQerrorMessage(connection.get())));
    }
    std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(connection.get(), sql.c_str()), &PQclear);
    const auto status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        throw std::runtime_error(sql + ": " + PQerrorMessage(connection.get()));
    }
}

PgTestDatabase::PgTestDatabase() : name_(unique_name()) {
    const std::string dir = pg_cluster_dir();
    const std::string base = "postgresql://agentlb:" + read_line(dir + "/password") + "@" +
                             read_line(dir + "/listen") + ":" + read_line(dir + "/port") + "/";
    admin_uri_ = base + "agentlb";
    uri_ = base + name_;
    pg_exec(admin_uri_, "CREATE DATABASE " + name_);
}

PgTestDatabase::~PgTestDatabase() {
    try {
        pg_exec(admin_uri_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception&) {
        // The cluster is removed at the end of the run anyway.
    }
}

PgDatabaseAway::PgDatabaseAway(const PgTestDatabase& database) : database_(database) {
    pg_exec(database_.admin_uri(), "ALTER DATABASE " + database_.name() + " ALLOW_CONNECTIONS false");
    away_ = true;
    pg_exec(database_.admin_uri(),
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + database_.name() +
                "' AND pid <> pg_backend_pid()");
}

PgDatabaseAway::~PgDatabaseAway() {
    try {
        restore();
    } catch (const std::exception&) {
        // The database is dropped at the end of the test anyway.
    }
}

void PgDatabaseAway::restore() {
    if (away_) {
        pg_exec(database_.admin_uri(), "ALTER DATABASE " + database_.name() + " ALLOW_CONNECTIONS true");
        away_ = false;
    }
}

PgServerRole::PgServerRole(const PgTestDatabase& database)
    : database_(database), role_(database.name() + "_server") {
    const std::string password = "pw" + role_;
    pg_exec(database_.admin_uri(), "CREATE ROLE " + role_ + " LOGIN SUPERUSER PASSWORD '" + password + "'");
    // postgresql://agentlb:PASSWORD@ADDR:PORT/NAME, as this role.
    const auto& uri = database_.uri();
    const auto at = uri.find('@');
    uri_ = "postgresql://" + role_ + ":" + password + uri.substr(at);
}

PgServerRole::~PgServerRole() {
    try {
        end_connections();
        pg_exec(database_.admin_uri(), "DROP ROLE IF EXISTS " + role_);
    } catch (const std::exception&) {
        // The cluster is removed at the end of the run anyway.
    }
}

void PgServerRole::cut() {
    pg_exec(database_.admin_uri(), "ALTER ROLE " + role_ + " NOLOGIN");
    end_connections();
}

void PgServerRole::restore() {
    pg_exec(database_.admin_uri(), "ALTER ROLE " + role_ + " LOGIN");
}

void PgServerRole::end_connections() {
    pg_exec(database_.admin_uri(),
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + role_ + "'");
}

}  // namespace agentlb::test
