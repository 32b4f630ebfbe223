// agentlbctl ca init / ca show / token create, run as a process.

#include "certs/token.hpp"
#include "common/util/clock.hpp"
#include "tests/tools/ctl_fixture.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

using namespace agentlb;
using namespace agentlb::test;

namespace {

std::string read_all(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

const std::regex kFingerprint("sha256:[0-9a-f]{64}");

// "ca_fingerprint sha256:..." from the text output.
std::string fingerprint_line(const std::string& out) {
    std::smatch match;
    const std::regex line("(^|\n)ca_fingerprint (sha256:[0-9a-f]{64})\n");
    REQUIRE(std::regex_search(out, match, line));
    return match[2];
}

}  // namespace

TEST_CASE("ca init creates the CA, records it in the store, and refuses a second time") {
    CtlFixture f;
    const std::string ca_dir = (f.dir / "ca").string();
    const CommandResult init = f.ctl({"ca", "init", "--ca-dir", ca_dir});
    INFO(init.err);
    REQUIRE(init.exit_code == 0);
    const std::string fingerprint = fingerprint_line(init.out);
    CHECK(std::filesystem::exists(f.dir / "ca" / "ca.key"));
    CHECK((std::filesystem::status(f.dir / "ca" / "ca.key").permissions() &
           std::filesystem::perms::group_all) == std::filesystem::perms::none);
    {
        auto ca = f.open()->ca_certificate();
        REQUIRE(ca.has_value());
        CHECK(ca->second == fingerprint);
        CHECK(ca->first == read_all(f.dir / "ca" / "ca.crt"));
    }
    const CommandResult show = f.ctl({"ca", "show"});
    CHECK(show.exit_code == 0);
    CHECK_THAT(show.out, Catch::StartsWith("ca_fingerprint " + fingerprint + "\n"));
    CHECK_THAT(show.out, Catch::EndsWith("\n" + read_all(f.dir / "ca" / "ca.crt")));

    const std::string key_before = read_all(f.dir / "ca" / "ca.key");

    SECTION("again with the same folder: the existing file is named, exit 1, nothing changed") {
        const CommandResult again = f.ctl({"ca", "init", "--ca-dir", ca_dir});
        CHECK(again.exit_code == 1);
        CHECK_THAT(again.err, Catch::Contains("ca.key already exists"));
        CHECK(read_all(f.dir / "ca" / "ca.key") == key_before);
        CHECK(f.open()->ca_certificate()->second == fingerprint);
    }
    SECTION("a new folder but the same store: the stored CA is never replaced") {
        const CommandResult again = f.ctl({"ca", "init", "--ca-dir", (f.dir / "ca2").string()});
        CHECK(again.exit_code == 1);
        CHECK_THAT(again.err, Catch::Contains("already holds a CA (" + fingerprint + ")"));
        CHECK_FALSE(std::filesystem::exists(f.dir / "ca2"));
        CHECK(f.open()->ca_certificate()->second == fingerprint);
    }
    SECTION("the same folder with another store: refused before that store is created") {
        const std::string other = (f.dir / "other.db").string();
        const CommandResult again = f.ctl_raw({"--db", other, "ca", "init", "--ca-dir", ca_dir});
        CHECK(again.exit_code == 1);
        CHECK_THAT(again.err, Catch::Contains("ca.key already exists"));
        CHECK_FALSE(std::filesystem::exists(other));
    }
}

TEST_CASE("ca init without --ca-dir is bad usage - ca show without a CA is a failure") {
    CtlFixture f;
    const CommandResult missing = f.ctl({"ca", "init"});
    CHECK(missing.exit_code == 2);
    CHECK_THAT(missing.err, Catch::Contains("--ca-dir DIR is required"));

    REQUIRE(f.ctl({"config", "set", "host", "ms1"}).exit_code == 0);
    const CommandResult show = f.ctl({"ca", "show"});
    CHECK(show.exit_code == 1);
    CHECK_THAT(show.err, Catch::Contains("holds no CA") && Catch::Contains("ca init"));
}

TEST_CASE("token create prints a token and the fingerprint, and stores only the hash with its expiry") {
    CtlFixture f;
    REQUIRE(f.ctl({"ca", "init", "--ca-dir", (f.dir / "ca").string()}).exit_code == 0);
    const std::string fingerprint = f.open()->ca_certificate()->second;

    const CommandResult created = f.ctl({"token", "create", "--zone", "east", "--ttl", "120"});
    INFO(created.err);
    REQUIRE(created.exit_code == 0);
    std::smatch match;
    REQUIRE(std::regex_search(created.out, match, std::regex("^token (\\S+)\n")));
    const std::string token = match[1];
    CHECK(certs::is_well_formed_join_token(token));
    CHECK(fingerprint_line(created.out) == fingerprint);
    CHECK_THAT(created.out, Catch::Contains("\nzone east\n"));

    auto store = f.open();
    const std::int64_t now = util::unix_now();
    auto redeem = [&](const std::string& hash, std::int64_t at) {
        store::IssueFn issue = [](const store::HostRecord&) -> Result<store::IssuedCertificate> {
            return store::IssuedCertificate{"pem", "serial-1", 1};
        };
        return store->redeem_token(store::RedeemRequest{hash, "h1", std::nullopt, at}, issue);
    };
    // The token itself is not a key in the store: only its hash is.
    CHECK_FALSE(redeem(token, now).ok());
    // Expired after the ttl: 120 s from creation (allow the seconds the run took).
    auto late = redeem(certs::hash_token(token), now + 125);
    REQUIRE_FALSE(late.ok());
    CHECK_THAT(late.error(), Catch::Contains("expired"));
    auto enrolled = redeem(certs::hash_token(token), now);
    REQUIRE(enrolled.ok());
    CHECK(enrolled->host.zone == "east");
}

TEST_CASE("token create --json has exactly token and ca_fingerprint") {
    CtlFixture f;
    REQUIRE(f.ctl({"ca", "init", "--ca-dir", (f.dir / "ca").string()}).exit_code == 0);
    const nlohmann::json out = f.ctl_json({"token", "create", "--name", "h7"});
    REQUIRE(out.is_object());
    CHECK(out.size() == 2);
    REQUIRE(out["token"].is_string());
    REQUIRE(out["ca_fingerprint"].is_string());
    CHECK(certs::is_well_formed_join_token(out["token"].get<std::string>()));
    CHECK(std::regex_match(out["ca_fingerprint"].get<std::string>(), kFingerprint));
    CHECK(out["ca_fingerprint"] == f.open()->ca_certificate()->second);
    // Two tokens are never the same.
    CHECK(f.ctl_json({"token", "create"})["token"] != out["token"]);
}

TEST_CASE("token create refuses bad values (exit 2) and a store without a CA (exit 1)") {
    CtlFixture f;
    const CommandResult no_store = f.ctl({"token", "create"});
    CHECK(no_store.exit_code == 1);
    CHECK_THAT(no_store.err, Catch::Contains("no store at"));
    CHECK_FALSE(std::filesystem::exists(f.db));

    REQUIRE(f.ctl({"config", "set", "host", "ms1"}).exit_code == 0);
    const CommandResult no_ca = f.ctl({"token", "create"});
    CHECK(no_ca.exit_code == 1);
    CHECK_THAT(no_ca.err, Catch::Contains("holds no CA") && Catch::Contains("agentlbctl ca init"));
    CHECK(no_ca.out.empty());

    for (const std::string ttl : {"0", "-5", "abc", "", "999999999999"}) {
        INFO("--ttl " << ttl);
        const CommandResult refused = f.ctl({"token", "create", "--ttl", ttl});
        CHECK(refused.exit_code == 2);
        CHECK_THAT(refused.err, Catch::Contains("token create: --ttl"));
        CHECK(refused.out.empty());
    }
    const CommandResult bad_name = f.ctl({"token", "create", "--name", "two words"});
    CHECK(bad_name.exit_code == 2);
    CHECK_THAT(bad_name.err, Catch::Contains("--name"));
}

TEST_CASE("token create --name takes RFC 1123 host names only, naming the bad character") {
    CtlFixture f;
    REQUIRE(f.ctl({"ca", "init", "--ca-dir", (f.dir / "ca").string()}).exit_code == 0);
    for (const auto& [name, shown] : std::vector<std::pair<std::string, std::string>>{
             {"a/CN=kvm1,O=*", "'/' at position 2"}, {"kvm_1", "'_' at position 4"}, {"-kvm1", "'-'"}}) {
        INFO(name);
        const CommandResult refused = f.ctl({"token", "create", "--name", name});
        CHECK(refused.exit_code == 2);
        CHECK_THAT(refused.err, Catch::Contains("--name") && Catch::Contains(shown));
        CHECK(refused.out.empty());
    }
    CHECK(f.ctl({"token", "create", "--name", "KVM-1.example.org"}).exit_code == 0);
}

TEST_CASE("token create --zone longer than 256 bytes is refused (exit 2) and stores no token") {
    CtlFixture f;
    REQUIRE(f.ctl({"ca", "init", "--ca-dir", (f.dir / "ca").string()}).exit_code == 0);
    auto token_rows = [&] {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open_v2(f.db.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
        sqlite3_stmt* statement = nullptr;
        REQUIRE(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM tokens", -1, &statement, nullptr) == SQLITE_OK);
        REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
        const int rows = sqlite3_column_int(statement, 0);
        sqlite3_finalize(statement);
        sqlite3_close(db);
        return rows;
    };
    const CommandResult refused = f.ctl({"token", "create", "--zone", std::string(300, 'z')});
    CHECK(refused.exit_code == 2);
    CHECK_THAT(refused.err, Catch::Contains("--zone: zone \"" + std::string(64, 'z') + "...\""));
    CHECK_THAT(refused.err, Catch::Contains("is 300 bytes long; at most 256"));
    CHECK(refused.err.size() < 400);
    CHECK(refused.out.empty());
    CHECK(token_rows() == 0);

    const CommandResult blank = f.ctl({"token", "create", "--zone", "east 1"});
    CHECK(blank.exit_code == 2);
    CHECK_THAT(blank.err, Catch::Contains("contains a space or a control character"));
    CHECK(token_rows() == 0);

    REQUIRE(f.ctl({"token", "create", "--zone", std::string(256, 'z')}).exit_code == 0);
    CHECK(token_rows() == 1);
}
