#pragma once

// Shared helpers for the store tests: a fresh store location per test on the
// backend under test, and a certificate issuer that counts its calls.
//
// One source, both backends: test_store runs on SQLite, and is registered a
// second time (tests tagged [sqlite] left out) with
// AGENTLB_TEST_STORE=postgresql:<cluster folder>, where every location is a
// fresh database on the run's throwaway PostgreSQL cluster.

#include "common/store/store.hpp"
#include "common/store/store_location.hpp"
#include "tests/support/pg_database.hpp"

#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

namespace agentlb::store::test {

// Prefers tmpfs: every commit fsyncs (synchronous=FULL), which costs
// milliseconds on a disk and nothing in memory; these tests check logic and
// locking, not durability.
inline std::filesystem::path temp_root() {
    std::error_code ec;
    if (std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK | X_OK) == 0) {
        return "/dev/shm";
    }
    return std::filesystem::temp_directory_path();
}

class TempDir {
public:
    TempDir() {
        std::string pattern = (temp_root() / "agentlb-store-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed for " + pattern);
        }
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

// True when the tests run on PostgreSQL. The one environment variable
// carries the cluster's folder too (CTest properties written by Catch's
// discovery cannot hold two ENVIRONMENT entries).
inline bool testing_postgresql() {
    const char* value = std::getenv("AGENTLB_TEST_STORE");
    if (value == nullptr) {
        return false;
    }
    constexpr std::string_view kPrefix = "postgresql:";
    const std::string_view setting(value);
    if (setting.substr(0, kPrefix.size()) != kPrefix) {
        return false;
    }
    ::setenv("AGENTLB_TEST_PG_DIR", std::string(setting.substr(kPrefix.size())).c_str(), 0);
    return true;
}

// Where a test's store lives: a file in a fresh folder, or a fresh database.
class TestLocation {
public:
    TestLocation() {
        if (testing_postgresql()) {
            database_ = std::make_unique<agentlb::test::PgTestDatabase>();
            db_ = database_->uri();
        } else {
            db_ = dir_.file("agentlb.db");
        }
    }
    const std::string& db() const { return db_; }

private:
    TempDir dir_;
    std::unique_ptr<agentlb::test::PgTestDatabase> database_;
    std::string db_;
};

// Runs SQL behind the store's back, on either backend (rows an older build could have written).
inline void raw_exec(const std::string& db, const std::string& sql) {
    if (backend_of(db) == Backend::postgresql) {
        agentlb::test::pg_exec(db, sql);
        return;
    }
    sqlite3* handle = nullptr;
    if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
        sqlite3_close(handle);
        throw std::runtime_error("cannot open " + db);
    }
    char* error = nullptr;
    const int rc = sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, &error);
    const std::string message = error != nullptr ? error : "";
    sqlite3_free(error);
    sqlite3_close(handle);
    if (rc != SQLITE_OK) {
        throw std::runtime_error(sql + ": " + message);
    }
}

// Runs body(i) for i in 0..n-1 on n threads at once, joins them, and returns
// what each threw (its what()), for a test to require that none did.
template <class Body>
std::vector<std::string> run_on_threads(int n, Body body) {
    std::mutex mutex;
    std::vector<std::string> errors;
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
        threads.emplace_back([&, i] {
            try {
                body(i);
            } catch (const std::exception& e) {
                std::lock_guard lock(mutex);
                errors.push_back(e.what());
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    return errors;
}

// Issues serials "<name>-<n>" (n counts calls) valid until 1000 + n.
struct CountingIssuer {
    int calls = 0;

    IssueFn fn() {
        return [this](const HostRecord& host) -> Result<IssuedCertificate> {
            ++calls;
            return IssuedCertificate{
                "PEM for " + host.name, host.name + "-" + std::to_string(calls), 1000 + calls};
        };
    }
};

// A store in a fresh location on the backend under test.
struct StoreFixture {
    TestLocation location;
    std::string db = location.db();
    std::unique_ptr<Store> store = open_store(db, OpenMode::create);
    CountingIssuer issuer;

    // Creates a token "token-<name>" (no zone, no name, valid until 100) and
    // redeems it at time 10; fails the test run if refused.
    HostRecord enroll(const std::string& name, const std::optional<std::string>& zone = std::nullopt) {
        std::string hash = "token-" + name + "-" + std::to_string(++tokens_);
        store->create_token(TokenSpec{hash, std::nullopt, std::nullopt, 100, 1});
        auto result = store->redeem_token(RedeemRequest{hash, name, zone, 10}, issuer.fn());
        if (!result) {
            throw std::runtime_error("enroll " + name + " refused: " + result.error());
        }
        return result->host;
    }

private:
    int tokens_ = 0;
};

// The StoreError message of opening db in `mode`, or "" if it opened.
inline std::string open_error(const std::string& db, OpenMode mode = OpenMode::create) {
    try {
        open_store(db, mode);
    } catch (const StoreError& e) {
        return e.what();
    }
    return "";
}

}  // namespace agentlb::store::test
