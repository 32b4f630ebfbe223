#include "common/store/schema.hpp"

#include "common/store/migrations.hpp"
#include "common/store/sqlite_handle.hpp"
#include "common/store/store.hpp"

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>

namespace agentlb::store {

namespace {

constexpr int kBusyTimeoutMs = 5000;

struct FileState {
    int version = 0;
    std::int64_t tables = 0;
};

// One statement, so both values come from the same snapshot: another
// process may commit the schema between two separate reads.
FileState read_state(Connection& connection) {
    auto query = connection.query(
        "SELECT (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_schema)",
        "reading the schema version");
    query.step();
    return FileState{static_cast<int>(query.int64(0)), query.int64(1)};
}

// Refuses a file newer than this build, and another program's database
// (version 0 but tables): writing our schema into it would mix two
// applications' data.
void check_compatible(const Connection& connection, const FileState& state) {
    if (state.version > kSchemaVersion) {
        throw StoreError("store \"" + connection.path() + "\" has schema version " +
                         std::to_string(state.version) + ", but this build of agentlb knows versions up to " +
                         std::to_string(kSchemaVersion) + "; upgrade agentlb");
    }
    if (state.version == 0 && state.tables != 0) {
        throw StoreError("store \"" + connection.path() +
                         "\" is an SQLite database of another program (it has tables but no agentlb schema "
                         "version); check the --db path");
    }
}

// Switching to WAL needs an exclusive lock, and SQLite does not apply the
// busy timeout to it (the statement already holds a read lock; waiting could
// deadlock), so two processes opening a new file at once would see
// SQLITE_BUSY at once. Retry until the busy timeout's deadline instead.
std::string switch_to_wal(Connection& connection) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
    auto read_mode = [](void* out, int, char** values, char**) -> int {
        if (values[0] != nullptr) {
            *static_cast<std::string*>(out) = values[0];
        }
        return 0;
    };
    for (;;) {
        std::string mode;
        int rc = sqlite3_exec(connection.handle(), "PRAGMA journal_mode=WAL", read_mode, &mode, nullptr);
        if (rc == SQLITE_OK) {
            return mode;
        }
        if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) {
            connection.throw_error(rc, "switching to WAL journal mode");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

bool is_empty_file(const std::string& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    return !ec && size == 0;
}

// A server or a reading command never initialises a file: an empty or
// uninitialised file where the store should be is a wrong path or lost data,
// and writing a fresh schema into it would hide that (every agent would then
// be refused as unknown).
void check_initialised(const Connection& connection, const FileState& state) {
    if (state.version != 0 || state.tables != 0) {
        return;
    }
    if (is_empty_file(connection.path())) {
        throw StoreError("store \"" + connection.path() +
                         "\" is an empty file (0 bytes), not an agentlb store; restore it from a backup, or "
                         "for a new cluster create it with `agentlbctl ca init`");
    }
    throw StoreError("store \"" + connection.path() +
                     "\" holds no agentlb schema (an SQLite database without tables); check the --db path, "
                     "or for a new cluster create the store with `agentlbctl ca init`");
}

}  // namespace

void configure_connection(Connection& connection, OpenMode mode) {
    int rc = sqlite3_busy_timeout(connection.handle(), kBusyTimeoutMs);
    if (rc != SQLITE_OK) {
        connection.throw_error(rc, "setting the busy timeout");
    }
    // Before WAL: switching the journal mode would already change a foreign or newer file.
    const FileState state = read_state(connection);
    check_compatible(connection, state);
    if (mode == OpenMode::existing) {
        check_initialised(connection, state);
    }
    const std::string journal = switch_to_wal(connection);
    if (journal != "wal" && connection.path() != ":memory:") {
        throw StoreError("store \"" + connection.path() + "\": cannot switch to WAL journal mode (still \"" +
                         journal + "\")");
    }
    connection.exec("PRAGMA synchronous=FULL", "setting synchronous=FULL");
}

int stored_version(Connection& connection) {
    return read_state(connection).version;
}

void migrate(Connection& connection) {
    if (read_state(connection).version == kSchemaVersion) {
        return;
    }
    WriteTransaction transaction(connection, "creating the schema");
    // Another process may have migrated while we waited for the lock.
    const FileState state = read_state(connection);
    check_compatible(connection, state);
    for (int next = state.version; next < kSchemaVersion; ++next) {
        connection.exec(kMigrations[static_cast<std::size_t>(next)].sqlite,
                        "migrating the schema to version " + std::to_string(next + 1));
    }
    connection.exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str(),
                    "setting the schema version");
    transaction.commit();
}

}  // namespace agentlb::store
