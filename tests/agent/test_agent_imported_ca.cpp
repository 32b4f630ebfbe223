// An imported CA end to end (`agentlbctl ca import`): an organisation root ->
// intermediate -> the CA agentlb issues from, all made at run time. Real
// agentlb-mgmt and agentlb-agent processes on 127.0.0.1.

#include "certs/ca_import.hpp"
#include "certs/fingerprint.hpp"
#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "common/util/atomic_file.hpp"
#include "common/util/clock.hpp"
#include "tests/agent/agent_cluster.hpp"
#include "tests/support/mgmt_server.hpp"
#include "tests/support/org_pki.hpp"
#include "tests/support/test_agent.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <stdexcept>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// The store and ca_dir() hold the organisation's CA, imported as
// `agentlbctl ca import` does; one server "ms1", not started.
struct ImportedCa {
    TempDir pki_dir;
    OrgPki pki;
    CaFixture fixture{
        "", [this](const fs::path& ca_dir) {
            const fs::path in = pki.write(pki_dir / "in");
            const certs::CaImportFiles files{in / "issuing.crt", in / "issuing.key", in / "chain.crt"};
            if (auto imported = certs::import_ca(ca_dir, files, util::unix_now()); !imported) {
                throw std::runtime_error("import_ca: " + imported.error());
            }
        }};
    TempDir root;
    ManagedServer ms1{fixture, "ms1", "127.0.0.1"};
    ImportedCa() { fixture.set_config("host", ms1.address()); }
};

std::size_t certificates_in(const fs::path& file) {
    auto text = util::read_file(file);
    REQUIRE(text.ok());
    auto parsed = certs::parse_certificates_pem(*text);
    REQUIRE(parsed.ok());
    return parsed->size();
}

}  // namespace

TEST_CASE_METHOD(
    ImportedCa, "three agents enrol and connect through an organisation root, intermediate and imported CA") {
    // The pin is the organisation's root, not the CA that issues.
    REQUIRE(fixture.anchor_fingerprint() == certs::fingerprint_of(pki.root.certificate.get()));
    REQUIRE(fixture.anchor_fingerprint() != fixture.ca_fingerprint());
    ms1.start();

    std::vector<std::unique_ptr<AgentProcess>> agents;
    for (const char* name : {"kvm-1", "kvm-2", "kvm-3"}) {
        agents.push_back(std::make_unique<AgentProcess>(root, name));
        agents.back()->start_enrolling(fixture, ms1);
    }
    const bool connected = wait_until(
        [&] {
            for (const auto& agent : agents) {
                if (connected_to(fixture, agent->name()) != std::optional<std::string>("ms1")) {
                    return false;
                }
            }
            return true;
        },
        15s);
    INFO(agents[0]->log() << "\n--- ms1\n" << tail(ms1.log()));
    REQUIRE(connected);

    for (const auto& agent : agents) {
        INFO(agent->name());
        // The anchor is the root; the certificate file holds the leaf, then
        // the imported CA and the intermediate it sends as a client.
        auto ca = util::read_file(agent->dir() / "ca.crt");
        REQUIRE(ca.ok());
        CHECK(*ca == pki.root.pem());
        auto cert = util::read_file(agent->dir() / "agent.crt");
        REQUIRE(cert.ok());
        CHECK(certificates_in(agent->dir() / "agent.crt") == 3);
        CHECK_THAT(*cert, Catch::EndsWith(pki.issuing.pem() + pki.intermediate.pem()));
    }

    // Restarted from its files alone, an agent presents the stored chain again.
    agents[0]->kill(SIGTERM);
    REQUIRE(agents[0]->wait(5s) == std::optional<int>(0));
    REQUIRE(wait_until([&] { return !connected_to(fixture, "kvm-1").has_value(); }, 5s));
    agents[0]->start();
    CHECK(
        wait_until([&] { return connected_to(fixture, "kvm-1") == std::optional<std::string>("ms1"); }, 10s));
    CHECK(fixture.store().list_hosts().size() == 3);
}

TEST_CASE_METHOD(ImportedCa, "a server whose CA folder lacks the imported chain refuses to start") {
    const fs::path copy = fixture.dir() / "ca-without-chain";
    fs::create_directories(copy);
    fs::copy_file(fixture.ca_dir() / "ca.key", copy / "ca.key");
    fs::copy_file(fixture.ca_dir() / "ca.crt", copy / "ca.crt");
    auto argv = mgmt_command_line(fixture, "ms9", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0");
    argv.insert(argv.end(), {"--advertise", "127.0.0.1:18250"});
    for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
        if (argv[i] == "--ca-dir") {
            argv[i + 1] = copy.string();
        }
    }
    const auto result = run_command(argv, 10s);
    INFO(result.err);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Catch::Contains("has no ca-chain.crt: copy it there"));
}

TEST_CASE_METHOD(
    ImportedCa, "the agent port refuses a host certificate the organisation issued outside the imported CA") {
    ms1.start();
    AgentIdentity ours = fixture.enroll("kvm-1");
    // Another certificate of the organisation for the same name, fit for a
    // client, sent with its chain up to the root the agents trust.
    PkiCertificateSpec spec{"kvm-1", "critical,CA:FALSE", "critical,digitalSignature"};
    spec.extended_key_usage = "clientAuth";
    const PkiCertificate foreign_leaf = make_pki_certificate(spec, &pki.intermediate);
    AgentIdentity foreign = ours;
    foreign.key_pem = foreign_leaf.key_pem();
    foreign.cert_pem = foreign_leaf.pem() + pki.intermediate.pem();

    // Control: the imported CA's certificate, with its chain, is welcomed.
    ours.cert_pem += fixture.ca().intermediates_pem();
    TestAgent good(ours, pki.root.pem());
    REQUIRE(good.connect(ms1.address()).empty());
    good.hello();
    INFO(tail(ms1.log()));
    CHECK(good.welcomed());

    TestAgent bad(foreign, pki.root.pem());
    const std::string connected = bad.connect(ms1.address());
    if (connected.empty()) {
        // TLS 1.3: the client may finish before the server checks its certificate.
        bad.hello();
    }
    CHECK_FALSE(bad.welcomed());
    CHECK(wait_until(
        [&] {
            return ms1.log().find("not issued by this CA") != std::string::npos ||
                   ms1.log().find("unable to get") != std::string::npos;
        },
        5s));
}

TEST_CASE_METHOD(ImportedCa,
                 "an expired agent of an imported CA renews within the grace and keeps the chain") {
    fixture.set_config("agentlb.ca.expired.cert.grace.period", "7d");
    ms1.start();
    AgentProcess agent(root, "kvm-old");
    const auto enrolled = fixture.enroll(agent.name());
    const auto now = std::chrono::system_clock::now();
    MintOptions dates;
    dates.not_before = now - std::chrono::hours(24 * 30);
    dates.not_after = now - 2h;
    const AgentIdentity expired = fixture.mint(agent.name(), dates);
    auto parsed = certs::parse_certificate_pem(expired.cert_pem);
    REQUIRE(parsed.ok());
    fixture.store().record_certificate(
        enrolled.host_id,
        store::IssuedCertificate{expired.cert_pem, expired.serial, certs::not_after_of(parsed->get())});
    // What enrolment left: the leaf and its chain, the root as the CA file.
    install_credentials(
        agent, expired.key_pem, expired.cert_pem + fixture.ca().intermediates_pem(), pki.root.pem());
    const auto enroll_port = ms1.enroll_address().substr(ms1.enroll_address().rfind(':') + 1);
    REQUIRE(util::write_file_atomically(agent.properties_path(),
                                        "name=kvm-old\nzone=default\nid=" + std::to_string(enrolled.host_id) +
                                            "\nhost=" + ms1.address() +
                                            "@static\nenroll.port=" + enroll_port + "\n")
                .ok());
    agent.start();
    const bool connected = wait_until(
        [&] { return connected_to(fixture, "kvm-old") == std::optional<std::string>("ms1"); }, 15s);
    INFO(agent.log() << "\n--- ms1\n" << tail(ms1.log()));
    REQUIRE(connected);
    CHECK(fixture.store().is_revoked(expired.serial));
    CHECK(certificates_in(agent.dir() / "agent.crt") == 3);
    auto cert = certs::load_certificate_file(agent.dir() / "agent.crt");
    REQUIRE(cert.ok());
    CHECK(certs::not_after_of(cert->get()) > util::unix_now());
}
