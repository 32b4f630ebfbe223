// agentlbctl ca import: a CA from an organisation's PKI (made at run time),
// run as a process; then ca show and token create pin the root.

#include "certs/fingerprint.hpp"
#include "tests/support/org_pki.hpp"
#include "tests/tools/ctl_fixture.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>

using namespace agentlb;
using namespace agentlb::test;

namespace {

std::string line_value(const std::string& out, const std::string& key) {
    std::smatch match;
    REQUIRE(std::regex_search(out, match, std::regex("(^|\n)" + key + " (sha256:[0-9a-f]{64})\n")));
    return match[2];
}

struct ImportFixture : CtlFixture {
    OrgPki pki;
    std::filesystem::path in = pki.write(dir / "in");
    std::string ca_dir = (dir / "ca").string();
    std::string root_fingerprint = certs::fingerprint_of(pki.root.certificate.get());
    std::string issuing_fingerprint = certs::fingerprint_of(pki.issuing.certificate.get());

    std::vector<std::string> import_args() const {
        return {"ca",
                "import",
                "--ca-dir",
                ca_dir,
                "--cert",
                (in / "issuing.crt").string(),
                "--key",
                (in / "issuing.key").string(),
                "--chain",
                (in / "chain.crt").string()};
    }
};

void write_text(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path) << text;
}

}  // namespace

TEST_CASE("ca import records the CA with its chain, and ca show and token create print the root to pin") {
    ImportFixture f;
    const CommandResult imported = f.ctl(f.import_args());
    INFO(imported.err);
    REQUIRE(imported.exit_code == 0);
    CHECK(line_value(imported.out, "ca_fingerprint") == f.root_fingerprint);
    CHECK(line_value(imported.out, "issuing_ca_fingerprint") == f.issuing_fingerprint);
    CHECK(std::filesystem::exists(f.dir / "ca" / "ca-chain.crt"));
    CHECK((std::filesystem::status(f.dir / "ca" / "ca.key").permissions() & std::filesystem::perms::all) ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    {
        auto store = f.open();
        REQUIRE(store->ca_certificate());
        CHECK(store->ca_certificate()->second == f.issuing_fingerprint);
        CHECK(store->ca_chain() == f.pki.chain_pem());
    }

    const CommandResult show = f.ctl({"ca", "show"});
    CHECK(show.exit_code == 0);
    CHECK_THAT(show.out,
               Catch::StartsWith("ca_fingerprint " + f.root_fingerprint + "\nissuing_ca_fingerprint " +
                                 f.issuing_fingerprint + "\nsubject CN=agentlb issuing CA\n"));
    CHECK_THAT(show.out, Catch::Contains("\nchain_not_after ") && Catch::EndsWith(f.pki.issuing.pem()));
    const nlohmann::json shown = f.ctl_json({"ca", "show"});
    CHECK(shown["ca_fingerprint"] == f.root_fingerprint);
    CHECK(shown["issuing_ca_fingerprint"] == f.issuing_fingerprint);
    CHECK(shown["pem"] == f.pki.issuing.pem());

    const CommandResult token = f.ctl({"token", "create"});
    REQUIRE(token.exit_code == 0);
    CHECK(line_value(token.out, "ca_fingerprint") == f.root_fingerprint);
    CHECK(f.ctl_json({"status"})["ca_fingerprint"] == f.root_fingerprint);
}

TEST_CASE("ca import refuses a store that already holds a CA, pointing at ca rotate") {
    ImportFixture f;
    REQUIRE(f.ctl({"ca", "init", "--ca-dir", (f.dir / "own").string()}).exit_code == 0);
    const std::string before = f.open()->ca_certificate()->second;
    const CommandResult refused = f.ctl(f.import_args());
    CHECK(refused.exit_code == 1);
    CHECK_THAT(
        refused.err,
        Catch::Contains("already holds a CA (" + before + ")") && Catch::Contains("agentlbctl ca rotate"));
    CHECK_FALSE(std::filesystem::exists(f.dir / "ca"));
    CHECK(f.open()->ca_certificate()->second == before);
}

TEST_CASE("ca rotate refuses an imported CA and changes nothing") {
    ImportFixture f;
    REQUIRE(f.ctl(f.import_args()).exit_code == 0);
    const CommandResult refused = f.ctl({"ca", "rotate", "--ca-dir", f.ca_dir});
    CHECK(refused.exit_code == 2);
    CHECK_THAT(refused.err, Catch::Contains("was imported") && Catch::Contains("is not rotated"));
    auto store = f.open();
    CHECK(store->trusted_cas().size() == 1);
    CHECK(store->ca_certificate()->second == f.issuing_fingerprint);
    CHECK_FALSE(std::filesystem::exists(std::filesystem::path(f.ca_dir) / "ca.previous.key"));
    CHECK_FALSE(std::filesystem::exists(std::filesystem::path(f.ca_dir) / "ca.next.key"));
}

TEST_CASE("ca import refusals name the file and leave no CA behind") {
    ImportFixture f;
    std::vector<std::string> args = f.import_args();
    std::string expected;
    SECTION("a key that is not the CA's") {
        write_text(f.in / "other.key", f.pki.root.key_pem());
        args[7] = (f.in / "other.key").string();
        expected = "other.key is not the private key of";
    }
    SECTION("a certificate that is not a CA") {
        const PkiCertificate leaf = make_pki_certificate(
            {"web1", "critical,CA:FALSE", "critical,digitalSignature"}, &f.pki.intermediate);
        write_text(f.in / "leaf.crt", leaf.pem());
        write_text(f.in / "leaf.key", leaf.key_pem());
        args[5] = (f.in / "leaf.crt").string();
        args[7] = (f.in / "leaf.key").string();
        expected = "cannot be the CA: it is not a CA certificate";
    }
    SECTION("a chain that does not reach a self-signed root") {
        write_text(f.in / "short.crt", f.pki.intermediate.pem());
        args[9] = (f.in / "short.crt").string();
        expected = "short.crt: the chain does not end at a self-signed root";
    }
    SECTION("no chain for a CA another CA issued") {
        args.resize(8);
        expected = "is issued by another CA: give its issuers up to the self-signed root with --chain FILE";
    }
    const CommandResult refused = f.ctl(args);
    CHECK(refused.exit_code == 1);
    CHECK_THAT(refused.err, Catch::Contains(expected));
    CHECK_FALSE(std::filesystem::exists(f.dir / "ca" / "ca.key"));
    CHECK_FALSE(f.open()->ca_certificate());
}

TEST_CASE("ca import without --cert or --key is bad usage") {
    ImportFixture f;
    const CommandResult missing = f.ctl({"ca", "import", "--ca-dir", f.ca_dir, "--cert", "x.crt"});
    CHECK(missing.exit_code == 2);
    CHECK_THAT(missing.err, Catch::Contains("--cert FILE and --key FILE are required"));
}
