// Choosing the backend a --db value names.

#include "common/store/schema.hpp"
#include "common/store/sqlite_handle.hpp"
#include "common/store/store.hpp"
#include "common/store/store_location.hpp"

namespace agentlb::store {

namespace {

[[noreturn]] void no_postgresql(const std::string& db) {
    throw StoreError("store " + shown_location(db) + ": this build of agentlb has no PostgreSQL support");
}

}  // namespace

ChangeFeed::~ChangeFeed() = default;

std::unique_ptr<Store> open_store(const std::string& db, OpenMode mode) {
    if (backend_of(db) == Backend::postgresql) {
        no_postgresql(db);
    }
    return open_sqlite_store(db, mode);
}

SchemaVersions read_schema_versions(const std::string& db) {
    if (backend_of(db) == Backend::postgresql) {
        no_postgresql(db);
    }
    Connection connection(db, OpenMode::existing);
    return SchemaVersions{stored_version(connection), kSchemaVersion};
}

std::unique_ptr<ChangeFeed> open_change_feed(const std::string& db) {
    if (backend_of(db) == Backend::postgresql) {
        no_postgresql(db);
    }
    return nullptr;
}

}  // namespace agentlb::store
