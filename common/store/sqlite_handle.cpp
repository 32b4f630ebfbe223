#include "common/store/sqlite_handle.hpp"

#include "common/store/store.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <system_error>
#include <utility>

namespace agentlb::store {

namespace {

// An empty string_view may carry a null pointer, which SQLite would bind as NULL.
const char* non_null(std::string_view value) {
    return value.data() != nullptr ? value.data() : "";
}

}  // namespace

// ---- Query ----

Query::Query(Connection& connection, sqlite3_stmt* statement, std::string_view what)
    : connection_(connection), statement_(statement), what_(what) {}

Query::~Query() {
    // The result of reset repeats the last step's error, already reported.
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
}

Query& Query::bind(int index, std::int64_t value) {
    int rc = sqlite3_bind_int64(statement_, index, value);
    if (rc != SQLITE_OK) {
        connection_.throw_error(rc, what_);
    }
    return *this;
}

Query& Query::bind(int index, std::string_view value) {
    int rc =
        sqlite3_bind_text64(statement_, index, non_null(value), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    if (rc != SQLITE_OK) {
        connection_.throw_error(rc, what_);
    }
    return *this;
}

Query& Query::bind(int index, const std::optional<std::string>& value) {
    if (value) {
        return bind(index, std::string_view(*value));
    }
    int rc = sqlite3_bind_null(statement_, index);
    if (rc != SQLITE_OK) {
        connection_.throw_error(rc, what_);
    }
    return *this;
}

bool Query::step() {
    int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW) {
        return true;
    }
    if (rc == SQLITE_DONE) {
        return false;
    }
    connection_.throw_error(rc, what_);
}

void Query::run() {
    while (step()) {
    }
}

std::int64_t Query::int64(int column) const {
    return sqlite3_column_int64(statement_, column);
}

Query& Query::bind_blob(int index, std::string_view bytes) {
    int rc = sqlite3_bind_blob64(statement_, index, non_null(bytes), bytes.size(), SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) {
        connection_.throw_error(rc, what_);
    }
    return *this;
}

std::string Query::blob(int column) const {
    const void* data = sqlite3_column_blob(statement_, column);
    if (data == nullptr) {
        return {};
    }
    return std::string(static_cast<const char*>(data),
                       static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)));
}

std::string Query::text(int column) const {
    const unsigned char* data = sqlite3_column_text(statement_, column);
    if (data == nullptr) {
        return {};
    }
    return std::string(reinterpret_cast<const char*>(data),
                       static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)));
}

Query& Query::bind(int index, const std::optional<std::int64_t>& value) {
    if (value) {
        return bind(index, *value);
    }
    int rc = sqlite3_bind_null(statement_, index);
    if (rc != SQLITE_OK) {
        connection_.throw_error(rc, what_);
    }
    return *this;
}

std::optional<std::int64_t> Query::optional_int64(int column) const {
    if (sqlite3_column_type(statement_, column) == SQLITE_NULL) {
        return std::nullopt;
    }
    return int64(column);
}

std::optional<std::string> Query::optional_text(int column) const {
    if (sqlite3_column_type(statement_, column) == SQLITE_NULL) {
        return std::nullopt;
    }
    return text(column);
}

// ---- Connection ----

void Connection::StatementDeleter::operator()(sqlite3_stmt* statement) const {
    sqlite3_finalize(statement);
}

Connection::Connection(const std::string& path, OpenMode mode) : path_(path) {
    if (mode == OpenMode::existing) {
        std::error_code ec;
        if (!std::filesystem::exists(path, ec) && !ec) {
            throw StoreError("store \"" + path + "\" does not exist; create a new store with " +
                             "`agentlbctl --db " + path + " ca init --ca-dir DIR`, or check the path");
        }
    }
    // NOMUTEX: a connection is used by one thread at a time (see store.hpp).
    // Without CREATE, a file removed since the check above is an error, not a new store.
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    if (mode == OpenMode::create) {
        flags |= SQLITE_OPEN_CREATE;
    }
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string reason = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw StoreError("store \"" + path + "\": cannot open: " + reason +
                         " (does the folder exist and is it writable?)");
    }
    // SQLite silently falls back to read-only for a write-protected file.
    if (sqlite3_db_readonly(db_, "main") == 1) {
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw StoreError("store \"" + path + "\": the file is not writable (every user of the store, " +
                         "readers included, needs write access to it and its folder)");
    }
}

Connection::~Connection() {
    cache_.clear();  // statements must be finalized before the connection closes
    sqlite3_close_v2(db_);
}

Query Connection::query(std::string_view sql, std::string_view what) {
    std::string key(sql);
    auto found = cache_.find(key);
    if (found == cache_.end()) {
        sqlite3_stmt* raw = nullptr;
        int rc = sqlite3_prepare_v3(
            db_, non_null(sql), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(raw);
            throw_error(rc, what);
        }
        found = cache_.emplace(std::move(key), StatementPtr(raw)).first;
    }
    return Query(*this, found->second.get(), what);
}

void Connection::exec(const char* sql, std::string_view what) {
    char* message = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        std::string reason = message != nullptr ? message : sqlite3_errstr(rc);
        sqlite3_free(message);
        throw StoreError("store \"" + path_ + "\": " + std::string(what) + ": " + reason);
    }
}

std::int64_t Connection::changes() const {
    return sqlite3_changes64(db_);
}

std::int64_t Connection::last_insert_rowid() const {
    return sqlite3_last_insert_rowid(db_);
}

bool Connection::in_transaction() const {
    return sqlite3_get_autocommit(db_) == 0;
}

void Connection::throw_error(int rc, std::string_view what) const {
    // The connection's message has the detail (which constraint, which
    // table); it belongs to this error only if the codes match.
    std::string reason = sqlite3_extended_errcode(db_) == rc ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    if ((rc & 0xff) == SQLITE_BUSY) {
        reason += " (another process held the store's write lock longer than the busy timeout)";
    } else if ((rc & 0xff) == SQLITE_NOTADB) {
        reason += " (this file is not an agentlb store; check the --db path)";
    }
    throw StoreError("store \"" + path_ + "\": " + std::string(what) + ": " + reason);
}

// ---- WriteTransaction ----

WriteTransaction::WriteTransaction(Connection& connection, std::string_view what)
    : connection_(connection), what_(what) {
    connection_.query("BEGIN IMMEDIATE", what_).run();
}

WriteTransaction::~WriteTransaction() {
    // Some errors (I/O, full disk) already rolled the transaction back.
    if (open_ && connection_.in_transaction()) {
        sqlite3_exec(connection_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
}

void WriteTransaction::commit() {
    connection_.query("COMMIT", what_).run();
    open_ = false;
}

}  // namespace agentlb::store
