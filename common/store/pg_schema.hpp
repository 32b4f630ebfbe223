#pragma once

// Schema checks and migrations of the PostgreSQL store.

#include "common/store/store.hpp"

namespace agentlb::store {

class PgConnection;

// Refuses a database newer than this build or another program's (tables but
// no agentlb_schema), and with OpenMode::existing one without our schema;
// then brings it to kSchemaVersion in one transaction under an advisory
// lock, so servers opening an empty database at once create the schema
// once. A refused database is left untouched. Throws StoreError.
void pg_migrate(PgConnection& connection, OpenMode mode);

// The stored version without changing anything (0: no schema yet).
int pg_stored_version(PgConnection& connection);

}  // namespace agentlb::store
