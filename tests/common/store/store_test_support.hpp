#pragma once

// Shared helpers for the store tests: a fresh temp folder per test and a
// certificate issuer that counts its calls.

#include "common/store/store.hpp"

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unistd.h>

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

// A store in a fresh folder.
struct StoreFixture {
    TempDir dir;
    std::string db = dir.file("agentlb.db");
    std::unique_ptr<Store> store = open_sqlite_store(db, OpenMode::create);
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

// The StoreError message of opening path in `mode`, or "" if it opened.
inline std::string open_error(const std::string& path, OpenMode mode = OpenMode::create) {
    try {
        open_sqlite_store(path, mode);
    } catch (const StoreError& e) {
        return e.what();
    }
    return "";
}

}  // namespace agentlb::store::test
