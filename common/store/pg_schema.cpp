#include "common/store/pg_schema.hpp"

#include "common/store/migrations.hpp"
#include "common/store/pg_handle.hpp"

#include <string>

namespace agentlb::store {

namespace {

// The version lives in a table of its own (PostgreSQL has no user_version).
constexpr const char* kCreateVersionTable = R"sql(
    CREATE TABLE agentlb_schema (
        id      INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL
    );
    INSERT INTO agentlb_schema (id, version) VALUES (1, 0);
    )sql";

struct DatabaseState {
    bool versioned = false;  // agentlb_schema exists
    int version = 0;
    std::int64_t tables = 0;  // in the schema we would write to
};

DatabaseState read_state(PgConnection& connection) {
    auto found = connection.exec(
        "SELECT to_regclass('agentlb_schema') IS NOT NULL, "
        "(SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema())",
        "reading the schema version");
    DatabaseState state;
    state.versioned = found.boolean(0, 0);
    state.tables = found.int64(0, 1);
    if (state.versioned) {
        auto version =
            connection.exec("SELECT version FROM agentlb_schema WHERE id = 1", "reading the schema version");
        state.version = version.rows() == 1 ? static_cast<int>(version.int64(0, 0)) : 0;
    }
    return state;
}

void check_compatible(const PgConnection& connection, const DatabaseState& state) {
    if (state.version > kSchemaVersion) {
        throw StoreError("PostgreSQL store " + connection.shown() + " has schema version " +
                         std::to_string(state.version) + ", but this build of agentlb knows versions up to " +
                         std::to_string(kSchemaVersion) + "; upgrade agentlb");
    }
    if (!state.versioned && state.tables != 0) {
        throw StoreError("PostgreSQL store " + connection.shown() +
                         " is a database of another program (it has tables but no agentlb schema version); "
                         "check the --db value, or give agentlb a database of its own");
    }
}

}  // namespace

int pg_stored_version(PgConnection& connection) {
    return read_state(connection).version;
}

void pg_migrate(PgConnection& connection, OpenMode mode) {
    const DatabaseState seen = read_state(connection);
    check_compatible(connection, seen);
    if (mode == OpenMode::existing && !seen.versioned) {
        // A server never initialises a database: an empty one where the store
        // should be is a wrong --db value or lost data.
        throw StoreError("PostgreSQL store " + connection.shown() +
                         " holds no agentlb schema (a database without tables); check the --db value, or "
                         "for a new cluster create the store with `agentlbctl ca init`");
    }
    if (seen.version == kSchemaVersion) {
        return;
    }
    PgTransaction transaction(connection, "creating the schema");
    transaction.lock(kLockMigration);
    // Another server may have migrated while we waited for the lock.
    const DatabaseState state = read_state(connection);
    check_compatible(connection, state);
    if (!state.versioned) {
        connection.exec(kCreateVersionTable, "creating the schema version table");
    }
    for (int next = state.version; next < kSchemaVersion; ++next) {
        const std::string what = "migrating the schema to version " + std::to_string(next + 1);
        connection.exec(kMigrations[static_cast<std::size_t>(next)].postgresql, what);
    }
    connection.exec("UPDATE agentlb_schema SET version = $1 WHERE id = 1",
                    {kSchemaVersion},
                    "setting the schema version");
    transaction.commit();
}

}  // namespace agentlb::store
