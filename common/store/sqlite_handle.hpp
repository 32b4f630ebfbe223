#pragma once

// RAII wrappers for sqlite3* and sqlite3_stmt*, internal to the store.
//
// Every SQLite failure throws StoreError naming the file, what was being
// done, and SQLite's own message. Prepared statements are cached per
// connection, keyed by their SQL text.

#include "common/store/store.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace agentlb::store {

class Connection;

// One use of a cached prepared statement: bind, step, read columns. The
// statement is reset and its bindings cleared when the Query ends.
class Query {
public:
    Query(Connection& connection, sqlite3_stmt* statement, std::string_view what);
    ~Query();
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;

    // Parameters are numbered from 1, as in SQL.
    Query& bind(int index, std::int64_t value);
    Query& bind(int index, std::string_view value);
    Query& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
    Query& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
    Query& bind(int index, const std::optional<std::string>& value);   // nullopt binds NULL
    Query& bind(int index, const std::optional<std::int64_t>& value);  // nullopt binds NULL
    Query& bind_blob(int index, std::string_view bytes);

    // True while there is a row to read; false once done.
    bool step();
    // For statements that return no rows.
    void run();

    // Columns are numbered from 0, as in sqlite3_column_*.
    std::int64_t int64(int column) const;
    std::string text(int column) const;
    std::optional<std::string> optional_text(int column) const;
    std::optional<std::int64_t> optional_int64(int column) const;
    std::string blob(int column) const;

private:
    Connection& connection_;
    sqlite3_stmt* statement_;
    std::string_view what_;
};

class Connection {
public:
    // Opens read-write; only OpenMode::create makes a missing file. Throws
    // StoreError if it is missing (OpenMode::existing), cannot be opened or is
    // opened read-only.
    Connection(const std::string& path, OpenMode mode);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // what: a string literal for error messages ("reading the configuration");
    // it must outlive the Query.
    Query query(std::string_view sql, std::string_view what);
    // Runs SQL that needs no parameters and returns no rows we read.
    void exec(const char* sql, std::string_view what);

    std::int64_t changes() const;
    std::int64_t last_insert_rowid() const;
    bool in_transaction() const;
    const std::string& path() const { return path_; }
    sqlite3* handle() const { return db_; }

    [[noreturn]] void throw_error(int rc, std::string_view what) const;

private:
    struct StatementDeleter {
        void operator()(sqlite3_stmt* statement) const;
    };
    using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

    std::string path_;
    sqlite3* db_ = nullptr;
    std::unordered_map<std::string, StatementPtr> cache_;
};

// BEGIN IMMEDIATE ... COMMIT. Takes the write lock up front, so the busy
// timeout applies; a deferred transaction that upgrades from read to write
// can fail with SQLITE_BUSY at once. Rolls back if not committed.
class WriteTransaction {
public:
    WriteTransaction(Connection& connection, std::string_view what);
    ~WriteTransaction();
    WriteTransaction(const WriteTransaction&) = delete;
    WriteTransaction& operator=(const WriteTransaction&) = delete;

    void commit();

private:
    Connection& connection_;
    std::string_view what_;
    bool open_ = true;
};

}  // namespace agentlb::store
