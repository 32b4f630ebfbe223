#pragma once

// Connection settings and schema migrations of the SQLite store.

#include "common/store/migrations.hpp"
#include "common/store/store.hpp"

namespace agentlb::store {

class Connection;

// The schema version is kept in PRAGMA user_version.

// busy_timeout first (so the pragmas below wait for other processes instead
// of failing), then refuses a file that is not ours or is newer (and, with
// OpenMode::existing, one without our schema), then WAL and synchronous=FULL
// (durable commits in WAL). A refused file is left untouched. Throws StoreError.
void configure_connection(Connection& connection, OpenMode mode);

// Brings the file up to kSchemaVersion in one BEGIN IMMEDIATE transaction, so
// processes opening a new file at the same time create the schema once.
// Throws StoreError if the file is newer than this build.
void migrate(Connection& connection);

// PRAGMA user_version, without changing anything (0: no schema yet).
int stored_version(Connection& connection);

}  // namespace agentlb::store
