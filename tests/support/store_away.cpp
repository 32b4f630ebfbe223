#include "tests/support/store_away.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace agentlb::test {
namespace {

constexpr const char* kTables[] = {"generation", "hosts", "servers"};

std::string renames(const char* from_suffix, const char* to_suffix) {
    std::string sql = "BEGIN IMMEDIATE;";
    for (const char* table : kTables) {
        sql += std::string("ALTER TABLE ") + table + from_suffix + " RENAME TO " + table + to_suffix + ";";
    }
    return sql + "COMMIT;";
}

}  // namespace

void sqlite_exec(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        const std::string text = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        throw std::runtime_error("cannot open " + path + ": " + text);
    }
    sqlite3_busy_timeout(db, 5000);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    const std::string text = error != nullptr ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    if (rc != SQLITE_OK) {
        throw std::runtime_error(sql + ": " + text);
    }
}

StoreAway::StoreAway(std::string path) : path_(std::move(path)) {
    sqlite_exec(path_, renames("", "_away"));
    away_ = true;
}

StoreAway::~StoreAway() {
    try {
        restore();
    } catch (const std::exception&) {
        // The test has failed already; its temp folder goes anyway.
    }
}

void StoreAway::restore() {
    if (away_) {
        sqlite_exec(path_, renames("_away", ""));
        away_ = false;
    }
}

}  // namespace agentlb::test
