// Real agentlb-mgmt processes sharing one store share one TLS ticket key:
// made once at start, rotated once when it is due (counted by every server),
// two kept, and never shown: not in the logs, not in the store in the clear.

#include "common/tls/ticket_key_wrap.hpp"
#include "common/util/clock.hpp"
#include "tests/mgmt/integration_helpers.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace agentlb;
using namespace agentlb::test;

namespace {

const std::vector<std::string> kFastRefresh{"--ticket-key-refresh-ms", "100"};

void raw_sql(const std::string& db, const std::string& sql) {
    sqlite3* handle = nullptr;
    REQUIRE(sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(handle, 5000);
    const int rc = sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(handle);
    REQUIRE(rc == SQLITE_OK);
}

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string hex(const unsigned char* data, std::size_t size, bool upper = false) {
    const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(digits[data[i] >> 4]);
        out.push_back(digits[data[i] & 0x0f]);
    }
    return out;
}

std::string raw(const unsigned char* data, std::size_t size) {
    return std::string(reinterpret_cast<const char*>(data), size);
}

// The forms a key part could take in a log or a file: raw, hex either case.
std::vector<std::string> shown_forms(const unsigned char* data, std::size_t size) {
    return {raw(data, size), hex(data, size), hex(data, size, true)};
}

std::vector<tls::TicketKey> unwrap_all(CaFixture& fixture, const std::vector<store::TicketKeyRecord>& rows) {
    auto secret = fixture.ca().derive_secret(tls::kTicketKeyWrapInfo);
    REQUIRE(secret.ok());
    const tls::TicketKeyWrapper wrapper(*secret);
    std::vector<tls::TicketKey> keys;
    for (const auto& row : rows) {
        auto key = wrapper.unwrap(row.name, row.wrapped);
        REQUIRE(key);  // made under the fixture's CA key, as every server's
        keys.push_back(*key);
    }
    return keys;
}

}  // namespace

TEST_CASE("servers on one store share one ticket key, rotate it once when due, and never show it") {
    CaFixture fixture;
    MgmtServer ms1(fixture, "ms1", kFastRefresh);
    MgmtServer ms2(fixture, "ms2", kFastRefresh);

    const auto first = fixture.store().ticket_keys();
    REQUIRE(first.size() == 1);  // the second server found the first one's key
    CHECK(ms1.metric("agentlb_ticket_key_rotations_total") == 0.0);
    CHECK(ms2.metric("agentlb_ticket_key_rotations_total") == 0.0);

    // The key looks a rotation period old: the next refresh of either server replaces it.
    raw_sql(fixture.db_path(), "UPDATE ticket_keys SET created_at = created_at - 2592000");
    REQUIRE(wait_until(
        [&] {
            return ms1.metric("agentlb_ticket_key_rotations_total") == 1.0 &&
                   ms2.metric("agentlb_ticket_key_rotations_total") == 1.0;
        },
        5s));
    const auto second = fixture.store().ticket_keys();
    REQUIRE(second.size() == 2);  // one new key, made once; the previous one kept
    CHECK(second[1].name == first[0].name);
    CHECK_THAT(ms1.log() + ms2.log(), Catch::Contains("TLS ticket keys: a new key encrypts session tickets"));

    // A second rotation drops the oldest key.
    raw_sql(fixture.db_path(), "UPDATE ticket_keys SET created_at = created_at - 2592000");
    REQUIRE(wait_until([&] { return ms1.metric("agentlb_ticket_key_rotations_total") == 2.0; }, 5s));
    const auto third = fixture.store().ticket_keys();
    REQUIRE(third.size() == 2);
    CHECK(third[1].name == second[0].name);

    // Nothing shows the material: not the logs (raw or hex), not the store's
    // files (every key ever made, the dropped one included).
    std::vector<store::TicketKeyRecord> every_key{first[0], second[0], third[0]};
    const std::string logs = ms1.log() + ms2.log();
    const std::string files = file_bytes(fixture.db_path()) + file_bytes(fixture.db_path() + "-wal");
    REQUIRE_FALSE(files.empty());
    for (const tls::TicketKey& key : unwrap_all(fixture, every_key)) {
        for (const auto& form : shown_forms(key.aes_key.data(), key.aes_key.size())) {
            CHECK(logs.find(form) == std::string::npos);
            CHECK(files.find(form) == std::string::npos);
        }
        for (const auto& form : shown_forms(key.hmac_key.data(), key.hmac_key.size())) {
            CHECK(logs.find(form) == std::string::npos);
            CHECK(files.find(form) == std::string::npos);
        }
        // The name travels in every ticket, but the logs have no use for it either.
        for (const auto& form : shown_forms(key.name.data(), key.name.size())) {
            CHECK(logs.find(form) == std::string::npos);
        }
    }
}

TEST_CASE("a stored ticket key made under another CA key is replaced at start, with a warning") {
    CaFixture fixture;
    // A key another CA's holder made (e.g. before a CA import): it cannot be unwrapped here.
    store::TicketKeyMaker foreign{[] {
        return store::TicketKeyRecord{std::string(16, 'f'), std::string(93, '\x01'), 0};
    }};
    fixture.store().ensure_ticket_keys(util::unix_now(), 3600, foreign);

    MgmtServer ms1(fixture, "ms1", kFastRefresh);
    const auto keys = fixture.store().ticket_keys();
    REQUIRE(keys.size() == 2);
    CHECK(keys[1].name == std::string(16, 'f'));
    CHECK(unwrap_all(fixture, {keys[0]}).size() == 1);
    CHECK_THAT(ms1.log(), Catch::Contains("were made under another CA key"));
}
