// Importing a CA issued by an organisation's PKI (certs/ca_import.hpp) and
// loading it with its chain (certs/ca.hpp, certs/ca_chain.hpp).

#include "certs/ca_chain.hpp"
#include "certs/ca_import.hpp"
#include "certs/fingerprint.hpp"
#include "certs/verify.hpp"
#include "certs_fixture.hpp"
#include "tests/support/org_pki.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace agentlb;
using namespace agentlb::certs;
using namespace agentlb::certs::test;
using agentlb::test::make_pki_certificate;
using agentlb::test::OrgPki;
using agentlb::test::PkiCertificate;

namespace {

void write_text(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path) << text;
}

std::string issue_agent(const CertificateAuthority& ca) {
    IssueOptions options;
    options.common_name = "kvm1";
    auto issued = ca.issue(fresh_csr("kvm1"), options);
    REQUIRE(issued);
    return issued->pem;
}

struct ImportFixture {
    TempDir dir;
    OrgPki pki;
    std::filesystem::path in = pki.write(dir.path() / "in");
    std::filesystem::path ca_dir = dir.path() / "ca";

    CaImportFiles files() const { return {in / "issuing.crt", in / "issuing.key", in / "chain.crt"}; }
    Status run(const CaImportFiles& given) const { return import_ca(ca_dir, given, util::unix_now()); }
    bool wrote_nothing() const {
        return !std::filesystem::exists(ca_dir / "ca.key") && !std::filesystem::exists(ca_dir / "ca.crt") &&
               !std::filesystem::exists(ca_dir / "ca-chain.crt");
    }
};

}  // namespace

TEST_CASE("an imported CA loads with its chain and its certificates verify up to the organisation's root") {
    ImportFixture f;
    REQUIRE(f.run(f.files()));
    CHECK(mode_of(f.ca_dir / "ca.key") == 0600);
    CHECK(mode_of(f.ca_dir) == 0700);

    auto ca = CertificateAuthority::load(f.ca_dir);
    REQUIRE(ca);
    CHECK(ca->fingerprint() == fingerprint_of(f.pki.issuing.certificate.get()));
    CHECK(ca->chain_pem() == f.pki.chain_pem());
    CHECK(ca->trust_anchor_pem() == f.pki.root.pem());
    CHECK(ca->trust_anchor_fingerprint() == fingerprint_of(f.pki.root.certificate.get()));
    CHECK(ca->intermediates_pem() == f.pki.issuing.pem() + f.pki.intermediate.pem());

    auto leaf = parse_certificate_pem(issue_agent(*ca));
    REQUIRE(leaf);
    const auto now = util::unix_now();
    CHECK(verify_certificate_chain(leaf->get(), ca->trust_anchor_pem(), ca->intermediates_pem(), now));
    // The root alone does not reach the leaf: the intermediates must travel with it.
    auto alone = verify_certificate_chain(leaf->get(), ca->trust_anchor_pem(), "", now);
    REQUIRE_FALSE(alone);
    CHECK_THAT(alone.error(), Catch::Contains("not issued by this CA"));
}

TEST_CASE("a CA made by ca init is its own trust anchor and sends no intermediates") {
    TestCa test;
    CHECK(test.ca.chain_pem().empty());
    CHECK(test.ca.intermediates_pem().empty());
    CHECK(test.ca.trust_anchor_pem() == test.ca.certificate_pem());
    CHECK(test.ca.trust_anchor_fingerprint() == test.ca.fingerprint());
}

TEST_CASE("a self-signed root imports without a chain") {
    ImportFixture f;
    write_text(f.in / "root.crt", f.pki.root.pem());
    write_text(f.in / "root.key", f.pki.root.key_pem());
    REQUIRE(f.run({f.in / "root.crt", f.in / "root.key", std::nullopt}));
    CHECK_FALSE(std::filesystem::exists(f.ca_dir / "ca-chain.crt"));
    auto ca = CertificateAuthority::load(f.ca_dir);
    REQUIRE(ca);
    CHECK(ca->trust_anchor_fingerprint() == fingerprint_of(f.pki.root.certificate.get()));
}

TEST_CASE("ca import refuses a key that is not the certificate's, writing nothing") {
    ImportFixture f;
    write_text(f.in / "other.key", f.pki.intermediate.key_pem());
    auto files = f.files();
    files.key = f.in / "other.key";
    auto refused = f.run(files);
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.error(), Catch::Contains("other.key is not the private key of"));
    CHECK(f.wrote_nothing());
}

TEST_CASE("ca import refuses a certificate that is not a CA, or a CA without keyCertSign") {
    ImportFixture f;
    const PkiCertificate leaf = make_pki_certificate(
        {"not a ca", "critical,CA:FALSE", "critical,digitalSignature"}, &f.pki.intermediate);
    const PkiCertificate no_sign =
        make_pki_certificate({"no keyCertSign", "critical,CA:TRUE", "critical,cRLSign"}, &f.pki.intermediate);
    for (const PkiCertificate* given : {&leaf, &no_sign}) {
        write_text(f.in / "given.crt", given->pem());
        write_text(f.in / "given.key", given->key_pem());
        auto refused = f.run({f.in / "given.crt", f.in / "given.key", f.in / "chain.crt"});
        REQUIRE_FALSE(refused);
        INFO(refused.error());
        CHECK_THAT(refused.error(), Catch::Contains("cannot be the CA"));
        CHECK_THAT(refused.error(),
                   Catch::Contains(given == &leaf ? "not a CA certificate" : "does not allow keyCertSign"));
        CHECK(f.wrote_nothing());
    }
}

TEST_CASE("ca import refuses a chain that does not lead to a self-signed root") {
    ImportFixture f;
    SECTION("the root is missing") {
        write_text(f.in / "bad.crt", f.pki.intermediate.pem());
        auto files = f.files();
        files.chain = f.in / "bad.crt";
        auto refused = f.run(files);
        REQUIRE_FALSE(refused);
        CHECK_THAT(refused.error(), Catch::Contains("does not end at a self-signed root"));
        CHECK_THAT(refused.error(), Catch::Contains("bad.crt"));
    }
    SECTION("the order is wrong") {
        write_text(f.in / "bad.crt", f.pki.root.pem() + f.pki.intermediate.pem());
        auto files = f.files();
        files.chain = f.in / "bad.crt";
        auto refused = f.run(files);
        REQUIRE_FALSE(refused);
        CHECK_THAT(refused.error(),
                   Catch::Contains("certificate 1 of the chain (CN=Example Org Root) did not issue"));
    }
    SECTION("an unrelated root") {
        const OrgPki other;
        write_text(f.in / "bad.crt", f.pki.intermediate.pem() + other.root.pem());
        auto files = f.files();
        files.chain = f.in / "bad.crt";
        auto refused = f.run(files);
        REQUIRE_FALSE(refused);
        CHECK_THAT(refused.error(),
                   Catch::Contains("certificate 2 of the chain (CN=Example Org Root) did not issue"));
    }
    SECTION("no chain for a CA issued by another") {
        auto files = f.files();
        files.chain.reset();
        auto refused = f.run(files);
        REQUIRE_FALSE(refused);
        CHECK_THAT(refused.error(), Catch::Contains("is issued by another CA: give its issuers"));
    }
    SECTION("an intermediate whose path length leaves no room for our CA's certificates") {
        const PkiCertificate tight =
            make_pki_certificate({"Tight Intermediate", "critical,CA:TRUE,pathlen:0"}, &f.pki.root);
        const PkiCertificate ours =
            make_pki_certificate({"agentlb issuing CA", "critical,CA:TRUE,pathlen:0"}, &tight);
        write_text(f.in / "ours.crt", ours.pem());
        write_text(f.in / "ours.key", ours.key_pem());
        write_text(f.in / "bad.crt", tight.pem() + f.pki.root.pem());
        auto refused = f.run({f.in / "ours.crt", f.in / "ours.key", f.in / "bad.crt"});
        REQUIRE_FALSE(refused);
        CHECK_THAT(refused.error(), Catch::Contains("does not verify up to the root"));
    }
    CHECK(f.wrote_nothing());
}

TEST_CASE("ca import refuses an expired CA and a folder that already holds a CA") {
    ImportFixture f;
    SECTION("expired") {
        const PkiCertificate old = make_pki_certificate(
            {"old CA", "critical,CA:TRUE,pathlen:0", "critical,keyCertSign", -7200, -3600},
            &f.pki.intermediate);
        write_text(f.in / "old.crt", old.pem());
        write_text(f.in / "old.key", old.key_pem());
        auto refused = f.run({f.in / "old.crt", f.in / "old.key", f.in / "chain.crt"});
        REQUIRE_FALSE(refused);
        CHECK_THAT(refused.error(), Catch::Contains("old.crt expired on"));
        CHECK(f.wrote_nothing());
    }
    SECTION("existing CA files") {
        REQUIRE(create_ca(f.ca_dir));
        auto refused = f.run(f.files());
        REQUIRE_FALSE(refused);
        CHECK_THAT(refused.error(), Catch::Contains("already exists; refusing to overwrite an existing CA"));
        CHECK_FALSE(std::filesystem::exists(f.ca_dir / "ca-chain.crt"));
    }
}

TEST_CASE("loading a CA folder whose chain file does not lead to a root fails naming the file") {
    ImportFixture f;
    REQUIRE(f.run(f.files()));
    write_text(f.ca_dir / "ca-chain.crt", f.pki.intermediate.pem());
    auto loaded = CertificateAuthority::load(f.ca_dir);
    REQUIRE_FALSE(loaded);
    CHECK_THAT(loaded.error(), Catch::Contains("ca-chain.crt: the chain does not end at a self-signed root"));
}
