// agentlbctl cert list / cert revoke / cert reissue and ca show, run as a process.

#include "certs/token.hpp"
#include "common/util/clock.hpp"
#include "common/util/rfc3339.hpp"
#include "tests/tools/ctl_fixture.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

using namespace agentlb;
using namespace agentlb::test;

namespace {

std::string describe(const CommandResult& result) {
    return "exit " + std::to_string(result.exit_code) + "\n--- stdout\n" + result.out + "--- stderr\n" +
           result.err;
}

std::string read_all(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

// A CA, hosts h1 and h2 (stand-in certificates serial-h1 and serial-h2, valid
// one day), a renewal of h1 with a hexadecimal serial (3a0f, valid 10 days)
// and server ms1's certificate (5b, valid 100 days).
struct CertFixture : CtlFixture {
    std::string fingerprint;
    std::int64_t h1 = 0;
    std::int64_t now = util::unix_now();

    CertFixture() {
        REQUIRE(ctl({"ca", "init", "--ca-dir", (dir / "ca").string()}).exit_code == 0);
        fingerprint = open()->ca_certificate()->second;
        h1 = enrol("h1");
        enrol("h2");
        auto store = open();
        store->record_certificate(h1, store::IssuedCertificate{"pem", "3a0f", now + 10 * 86400});
        store->record_server_certificate("ms1", store::IssuedCertificate{"pem", "5b", now + 100 * 86400});
    }
};

std::vector<std::string> serials_of(const nlohmann::json& list) {
    std::vector<std::string> serials;
    for (const auto& item : list) {
        serials.push_back(item["serial"]);
    }
    return serials;
}

}  // namespace

TEST_CASE_METHOD(CertFixture, "cert list shows every certificate with its kind, issuer and state") {
    const CommandResult listed = ctl({"cert", "list"});
    INFO(describe(listed));
    REQUIRE(listed.exit_code == 0);
    const std::string short_issuer = fingerprint.substr(0, 23) + "...";
    CHECK_THAT(
        listed.out,
        Catch::StartsWith("SERIAL     KIND    SUBJECT  HOST ID  ISSUER                      NOT AFTER"));
    CHECK_THAT(listed.out, Catch::Contains("serial-h1  agent   h1       1        " + short_issuer + "  "));
    CHECK(std::regex_search(listed.out, std::regex("\nserial-h1 [^\n]+Z  superseded\n")));
    CHECK(std::regex_search(listed.out, std::regex("\nserial-h2 [^\n]+Z  valid\n")));
    CHECK_THAT(listed.out, Catch::Contains("3a0f       agent   h1       1        " + short_issuer));
    CHECK_THAT(listed.out, Catch::Contains("5b         server  ms1      -        " + short_issuer));

    const nlohmann::json json = ctl_json({"cert", "list"});
    CHECK(serials_of(json) == std::vector<std::string>{"serial-h1", "serial-h2", "3a0f", "5b"});
    CHECK(json[3]["kind"] == "server");
    CHECK(json[3]["host_id"].is_null());
    CHECK(json[3]["issuer"] == fingerprint);
    CHECK(json[3]["state"] == "valid");
    CHECK(json[2]["host_id"] == h1);
    CHECK(json[2]["not_after"] == util::format_rfc3339(now + 10 * 86400));
    CHECK(json[0]["superseded"] == true);
    CHECK(json[0]["revoked"] == false);

    // --host: a host (case ignored) or a server; an unknown name is refused.
    CHECK(serials_of(ctl_json({"cert", "list", "--host", "H1"})) ==
          std::vector<std::string>{"serial-h1", "3a0f"});
    CHECK(serials_of(ctl_json({"cert", "list", "--host", "ms1"})) == std::vector<std::string>{"5b"});
    const CommandResult unknown = ctl({"cert", "list", "--host", "nobody"});
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(unknown.err, Catch::Contains("no host named \"nobody\" is registered"));

    // --expiring: what is in use and expires within DAYS.
    CHECK(serials_of(ctl_json({"cert", "list", "--expiring", "2"})) == std::vector<std::string>{"serial-h2"});
    CHECK(serials_of(ctl_json({"cert", "list", "--expiring", "30"})) ==
          std::vector<std::string>{"serial-h2", "3a0f"});
    CHECK(ctl_json({"cert", "list", "--expiring", "0"}).empty());
    CHECK(ctl({"cert", "list", "--expiring", "0"}).out == "no certificate in use expires within 0 days\n");
    const CommandResult bad = ctl({"cert", "list", "--expiring", "soon"});
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.err, Catch::Contains("--expiring: \"soon\" is not a whole number"));
}

TEST_CASE_METHOD(CertFixture, "cert revoke revokes one serial, keeps the host, and refuses unknown serials") {
    const std::int64_t generation = open()->generation();
    const CommandResult revoked = ctl({"cert", "revoke", "3A:0F"});
    INFO(describe(revoked));
    REQUIRE(revoked.exit_code == 0);
    CHECK(revoked.out ==
          "revoked certificate 3a0f of host h1 (id 1)\n"
          "every server refuses it from now on; the session using it closes within seconds\n"
          "the host keeps its id: give it a new certificate with `agentlbctl cert reissue h1`\n");
    {
        auto store = open();
        CHECK(store->is_revoked("3a0f"));
        CHECK_FALSE(store->is_revoked("serial-h2"));
        CHECK(store->find_host("h1")->id == h1);
        CHECK(store->generation() == generation + 1);
    }

    const CommandResult again = ctl({"cert", "revoke", "3a0f"});
    CHECK(again.exit_code == 0);
    CHECK_THAT(again.out,
               Catch::Contains("was already revoked on ") && Catch::EndsWith("; nothing changed\n"));
    const nlohmann::json json = ctl_json({"cert", "revoke", "0x3a0f"});
    CHECK(json["already_revoked"] == true);
    CHECK(json["state"] == "revoked");
    CHECK(open()->generation() == generation + 1);

    const CommandResult server = ctl({"cert", "revoke", "5b"});
    CHECK(server.exit_code == 0);
    CHECK_THAT(server.out, Catch::StartsWith("revoked certificate 5b of server ms1\n"));

    const CommandResult unknown = ctl({"cert", "revoke", "abcdef"});
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(unknown.err, Catch::Contains("no certificate with serial \"abcdef\" is recorded"));
    const CommandResult malformed = ctl({"cert", "revoke", "serial-h2"});
    CHECK(malformed.exit_code == 2);
    CHECK_THAT(malformed.err, Catch::Contains("\"serial-h2\" is not a certificate serial"));
    CHECK_FALSE(open()->is_revoked("serial-h2"));
}

TEST_CASE_METHOD(CertFixture, "cert reissue prints a token bound to the host's name and id") {
    const CommandResult created = ctl({"cert", "reissue", "H1", "--ttl", "600"});
    INFO(describe(created));
    REQUIRE(created.exit_code == 0);
    std::smatch match;
    REQUIRE(std::regex_search(created.out, match, std::regex("^token (\\S+)\n")));
    const std::string token = match[1];
    CHECK(certs::is_well_formed_join_token(token));
    CHECK_THAT(created.out,
               Catch::Contains("\nca_fingerprint " + fingerprint + "\n") &&
                   Catch::Contains("\nname h1\nhost_id " + std::to_string(h1) + "\n"));

    auto redeem = [&](const std::string& serial) {
        store::IssueFn issue = [&](const store::HostRecord&) -> Result<store::IssuedCertificate> {
            return store::IssuedCertificate{"pem", serial, now + 86400};
        };
        return open()->redeem_token(
            store::RedeemRequest{certs::hash_token(token), "h1", std::nullopt, util::unix_now()}, issue);
    };
    SECTION("the host re-enrols with it and keeps its id") {
        const auto enrolled = redeem("4c");
        REQUIRE(enrolled.ok());
        CHECK(enrolled->host.id == h1);
        CHECK(open()->is_revoked("3a0f"));
    }
    SECTION("a host removed and enrolled again under the same name is refused") {
        REQUIRE(ctl({"host", "remove", "h1"}).exit_code == 0);
        const std::int64_t again = enrol("H1");  // another token hash than h1's first one
        const auto refused = redeem("4c");
        REQUIRE_FALSE(refused.ok());
        CHECK_THAT(refused.error(), Catch::Contains("now has id " + std::to_string(again)));
    }

    const CommandResult unknown = ctl({"cert", "reissue", "nobody"});
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(unknown.err, Catch::Contains("no host named \"nobody\" is registered"));
    const nlohmann::json json = ctl_json({"cert", "reissue", "h2"});
    CHECK(json["name"] == "h2");
    CHECK(json["ca_fingerprint"] == fingerprint);
    CHECK(certs::is_well_formed_join_token(json["token"].get<std::string>()));
}

TEST_CASE_METHOD(CertFixture,
                 "ca show prints the CA certificate with its fingerprint, subject and validity") {
    const std::string pem = read_all(dir / "ca" / "ca.crt");
    const CommandResult shown = ctl({"ca", "show"});
    INFO(describe(shown));
    REQUIRE(shown.exit_code == 0);
    CHECK(std::regex_search(shown.out,
                            std::regex("^ca_fingerprint " + fingerprint +
                                       "\nsubject CN=[^\n]+\nnot_before \\d{4}-\\d\\d-\\d\\dT[^\n]+Z\n"
                                       "not_after \\d{4}-[^\n]+Z\n-----BEGIN CERTIFICATE-----\n")));
    CHECK_THAT(shown.out, Catch::EndsWith(pem));

    const nlohmann::json json = ctl_json({"ca", "show"});
    CHECK(json["ca_fingerprint"] == fingerprint);
    CHECK(json["pem"] == pem);
    CHECK_THAT(json["subject"].get<std::string>(), Catch::StartsWith("CN="));
    CHECK(json["not_before"].get<std::string>() < json["not_after"].get<std::string>());
}
