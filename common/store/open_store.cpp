// Choosing the backend a --db value names.

#include "common/store/migrations.hpp"
#include "common/store/pg_change_feed.hpp"
#include "common/store/pg_handle.hpp"
#include "common/store/pg_schema.hpp"
#include "common/store/postgres_store.hpp"
#include "common/store/schema.hpp"
#include "common/store/sqlite_handle.hpp"
#include "common/store/store.hpp"
#include "common/store/store_location.hpp"

namespace agentlb::store {

ChangeFeed::~ChangeFeed() = default;

std::unique_ptr<Store> open_store(const std::string& db, OpenMode mode) {
    if (backend_of(db) == Backend::postgresql) {
        return std::make_unique<PostgresStore>(db, mode);
    }
    return open_sqlite_store(db, mode);
}

SchemaVersions read_schema_versions(const std::string& db) {
    if (backend_of(db) == Backend::postgresql) {
        PgConnection connection(db);
        return SchemaVersions{pg_stored_version(connection), kSchemaVersion};
    }
    Connection connection(db, OpenMode::existing);
    return SchemaVersions{stored_version(connection), kSchemaVersion};
}

std::unique_ptr<ChangeFeed> open_change_feed(const std::string& db) {
    if (backend_of(db) == Backend::postgresql) {
        return open_pg_change_feed(db);
    }
    return nullptr;
}

}  // namespace agentlb::store
