#pragma once

// A fresh PostgreSQL database per test, on the throwaway cluster that the
// CTest fixture `postgresql` starts (tools/pg_local.sh; tests registered
// with agentlb_add_test(... POSTGRESQL) get its folder in
// AGENTLB_TEST_PG_DIR). Dropped when the object ends.

#include <string>

namespace agentlb::test {

class PgTestDatabase {
public:
    // Throws std::runtime_error if the cluster is not there: a test that
    // needs PostgreSQL fails rather than passing without it.
    PgTestDatabase();
    ~PgTestDatabase();
    PgTestDatabase(const PgTestDatabase&) = delete;
    PgTestDatabase& operator=(const PgTestDatabase&) = delete;

    // postgresql://agentlb:PASSWORD@ADDR:PORT/NAME
    const std::string& uri() const { return uri_; }
    const std::string& name() const { return name_; }
    // The cluster's maintenance database (`agentlb`), for CREATE/DROP DATABASE.
    const std::string& admin_uri() const { return admin_uri_; }

private:
    std::string name_;
    std::string uri_;
    std::string admin_uri_;
};

// One test's database made unreachable, the rest of the shared cluster
// untouched: new connections refused (ALLOW_CONNECTIONS false) and the open
// ones ended (pg_terminate_backend), as a stopped PostgreSQL looks to a
// server; restore() (or the destructor) lets connections in again.
class PgDatabaseAway {
public:
    explicit PgDatabaseAway(const PgTestDatabase& database);
    ~PgDatabaseAway();
    PgDatabaseAway(const PgDatabaseAway&) = delete;
    PgDatabaseAway& operator=(const PgDatabaseAway&) = delete;

    void restore();

private:
    const PgTestDatabase& database_;
    bool away_ = false;
};

// A login role of its own for one server on `database`, so that the test
// can cut that server alone from the store (its role refused at login, its
// connections ended) while other servers keep theirs. A superuser: the
// throwaway cluster's tables belong to `agentlb`. Dropped when it ends.
class PgServerRole {
public:
    explicit PgServerRole(const PgTestDatabase& database);
    ~PgServerRole();
    PgServerRole(const PgServerRole&) = delete;
    PgServerRole& operator=(const PgServerRole&) = delete;

    // The database's URI as this role: the server's --db.
    const std::string& uri() const { return uri_; }
    void cut();
    void restore();

private:
    void end_connections();

    const PgTestDatabase& database_;
    std::string role_;
    std::string uri_;
};

// The cluster's folder (AGENTLB_TEST_PG_DIR), or a std::runtime_error.
std::string pg_cluster_dir();

// Runs one SQL command on `uri` (no results read); throws std::runtime_error with libpq's message.
void pg_exec(const std::string& uri, const std::string& sql);

}  // namespace agentlb::test
