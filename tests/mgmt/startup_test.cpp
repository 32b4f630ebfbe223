// Start-up refusals of the store: a server never creates or initialises a
// store by itself, and never serves from a damaged one.

#include "certs/ca.hpp"
#include "common/util/clock.hpp"
#include "tests/mgmt/integration_helpers.hpp"
#include "tests/support/damaged_store.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <fstream>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

// The fixture's command line with --db pointing at `db`, on ports the kernel picks.
std::vector<std::string> command_with_db(const CaFixture& fixture, const std::string& db) {
    auto argv = mgmt_command_line(fixture, "M1", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0");
    argv.insert(argv.end(), {"--advertise", "127.0.0.1:18250"});
    for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
        if (argv[i] == "--db") {
            argv[i + 1] = db;
        }
    }
    return argv;
}

void set_user_version(const std::string& path, int version) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    const std::string sql = "PRAGMA user_version = " + std::to_string(version);
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
}

}  // namespace

TEST_CASE("a store with a newer schema than this build knows is refused with exit 2 naming both versions") {
    CaFixture fixture;
    const auto known = store::read_schema_versions(fixture.db_path()).known;
    set_user_version(fixture.db_path(), known + 1);
    const auto result = run_command(command_with_db(fixture, fixture.db_path()), 10s);
    INFO(result.err);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err,
               Catch::Contains("cannot start: --db " + fixture.db_path() + ": the store has schema version " +
                               std::to_string(known + 1) + " but this agentlb-mgmt knows only up to " +
                               std::to_string(known)));
    CHECK_THAT(result.err, Catch::Contains("upgrade agentlb-mgmt"));
    CHECK_THAT(result.err, !Catch::Contains("up: agents on"));
    CHECK(store::read_schema_versions(fixture.db_path()).stored == known + 1);
}

TEST_CASE("a server on SQLite names its store in /v1/status and polls it") {
    CaFixture fixture;
    MgmtServer server(fixture, "M1");
    const auto status = server.status();
    CHECK(status["store"]["location"] == fixture.db_path());
    CHECK(status["store"]["backend"] == "sqlite");
    CHECK(status["store"]["changes"] == "polled");
    CHECK_THAT(server.log(), Catch::Contains("store " + fixture.db_path() + " (polled every 50 ms)"));
    CHECK_THAT(server.metrics(), !Catch::Contains("agentlb_store_change_feed_up"));
}

TEST_CASE("a missing --db is refused with exit 2, and no store is created") {
    CaFixture fixture;
    const std::string db = (fixture.dir() / "missing.db").string();
    const auto result = run_command(command_with_db(fixture, db), 10s);
    INFO(result.err);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Catch::Contains("cannot start: --db " + db));
    CHECK_THAT(result.err, Catch::Contains("does not exist"));
    CHECK_THAT(result.err, Catch::Contains("agentlbctl --db " + db + " ca init"));
    CHECK_FALSE(std::filesystem::exists(db));
}

TEST_CASE("a 0-byte --db is refused with exit 2 and stays 0 bytes") {
    CaFixture fixture;
    const std::string db = (fixture.dir() / "empty.db").string();
    { std::ofstream touch(db); }
    const auto result = run_command(command_with_db(fixture, db), 10s);
    INFO(result.err);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Catch::Contains("cannot start: --db " + db));
    CHECK_THAT(result.err, Catch::Contains("is an empty file (0 bytes), not an agentlb store"));
    CHECK_THAT(result.err, Catch::Contains("agentlbctl ca init"));
    CHECK(std::filesystem::file_size(db) == 0);
    CHECK_FALSE(std::filesystem::exists(db + "-wal"));
}

TEST_CASE("a --db with damaged pages is refused with exit 2 naming quick_check's complaint") {
    CaFixture fixture;
    const std::string db = (fixture.dir() / "damaged.db").string();
    write_damaged_store(db, fixture.ca_pem(), fixture.ca_fingerprint());
    std::optional<std::string> complaint;
    {
        auto store = store::open_sqlite_store(db, store::OpenMode::existing);
        complaint = store->quick_check();
    }
    REQUIRE(complaint.has_value());
    const auto size = std::filesystem::file_size(db);

    const auto result = run_command(command_with_db(fixture, db), 10s);
    INFO(result.err);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Catch::Contains("cannot start: --db " + db + ": the store is damaged"));
    CHECK_THAT(result.err, Catch::Contains("PRAGMA quick_check says: " + *complaint));
    CHECK_THAT(result.err, Catch::Contains("restore the store from a backup"));
    // Nothing was written: no server row, no listener.
    CHECK(std::filesystem::file_size(db) == size);
    CHECK_THAT(result.err, !Catch::Contains("up: agents on"));
}

TEST_CASE("a --ca-dir holding a CA the store does not trust is refused with exit 2 naming both CAs") {
    CaFixture fixture;
    // The store's CA is rotated away (and the rotation finished) while this
    // server's folder keeps the old CA.
    TempDir elsewhere;
    REQUIRE(certs::create_ca(elsewhere.path() / "ca").ok());
    auto next = certs::CertificateAuthority::load(elsewhere.path() / "ca");
    REQUIRE(next.ok());
    REQUIRE(fixture.store()
                .begin_ca_rotation(store::CaRotation{
                    fixture.ca_fingerprint(), next->certificate_pem(), next->fingerprint(), "", 1})
                .ok());
    REQUIRE(fixture.store().finish_ca_rotation(util::unix_now()).ok());

    const auto result = run_command(command_with_db(fixture, fixture.db_path()), 10s);
    INFO(result.err);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err,
               Catch::Contains("holds CA " + fixture.ca_fingerprint() + ", which the store does not trust") &&
                   Catch::Contains("active CA: " + next->fingerprint()));
}
