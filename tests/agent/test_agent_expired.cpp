// An agent whose certificate expired (switched off longer than its life)
// against a real management server on 127.0.0.1: it renews on the
// enrollment port within the grace period (renew_expired), and beyond it
// keeps its files and keeps asking, logging the servers' refusal.

#include "certs/inspect.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "common/util/atomic_file.hpp"
#include "common/util/clock.hpp"
#include "tests/agent/agent_cluster.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr const char* kGraceKey = "agentlb.ca.expired.cert.grace.period";

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

struct ExpiredAgent {
    CaFixture fixture;
    TempDir root;
    ManagedServer ms1{fixture, "ms1", "127.0.0.1"};
    AgentIdentity identity;

    ExpiredAgent() { fixture.set_config("host", ms1.address()); }

    // Enrolled as `name`, then holding a certificate (recorded for it) that
    // expired `ago`, installed for `agent` with the list naming ms1.
    void install(const AgentProcess& agent, std::chrono::seconds ago) {
        const auto enrolled = fixture.enroll(agent.name());
        const auto now = std::chrono::system_clock::now();
        MintOptions dates;
        dates.not_before = now - std::chrono::hours(24 * 30);
        dates.not_after = now - ago;
        identity = fixture.mint(agent.name(), dates);
        identity.host_id = enrolled.host_id;
        auto cert = certs::parse_certificate_pem(identity.cert_pem);
        REQUIRE(cert.ok());
        fixture.store().record_certificate(
            enrolled.host_id,
            store::IssuedCertificate{identity.cert_pem, identity.serial, certs::not_after_of(cert->get())});
        install_credentials(agent, identity.key_pem, identity.cert_pem, fixture.ca_pem());
        const auto enroll_port = ms1.enroll_address().substr(ms1.enroll_address().rfind(':') + 1);
        REQUIRE(util::write_file_atomically(
                    agent.properties_path(),
                    "name=" + agent.name() + "\nzone=default\nid=" + std::to_string(enrolled.host_id) +
                        "\nhost=" + ms1.address() + "@static\nenroll.port=" + enroll_port + "\n")
                    .ok());
    }

    std::string serial_held(const AgentProcess& agent) {
        auto cert = certs::load_certificate_file(agent.dir() / "agent.crt");
        return cert.ok() ? certs::serial_of(cert->get()) : std::string();
    }
};

}  // namespace

TEST_CASE_METHOD(ExpiredAgent,
                 "an expired agent within the grace renews on the enrollment port and comes back") {
    fixture.set_config(kGraceKey, "7d");
    ms1.start();
    AgentProcess agent(root, "kvm-expired");
    install(agent, 2h);
    agent.start();
    const bool connected = wait_until(
        [&] { return connected_to(fixture, "kvm-expired") == std::optional<std::string>("ms1"); }, 15s);
    INFO(agent.log() << "\n--- ms1\n" << tail(ms1.log()));
    REQUIRE(connected);

    // Same host id, a new serial the store recorded for it, the old one revoked.
    const std::string serial = serial_held(agent);
    CHECK_FALSE(serial.empty());
    CHECK(serial != identity.serial);
    const auto host = fixture.store().find_host("kvm-expired");
    REQUIRE(host.has_value());
    CHECK(host->id == identity.host_id);
    const auto records = fixture.store().certificates_of("kvm-expired");
    CHECK(std::any_of(records.begin(), records.end(), [&](const store::CertificateRecord& r) {
        return r.serial == serial && r.host_id == identity.host_id && !r.revoked;
    }));
    CHECK(fixture.store().is_revoked(identity.serial));
    auto key = certs::load_private_key_file(agent.dir() / "agent.key");
    auto cert = certs::load_certificate_file(agent.dir() / "agent.crt");
    REQUIRE(key.ok());
    REQUIRE(cert.ok());
    CHECK(certs::key_matches_certificate(key->get(), cert->get()));
    CHECK(certs::not_after_of(cert->get()) > util::unix_now());
    CHECK_FALSE(fs::exists(agent.dir() / "agent.key.new"));
    CHECK_THAT(agent.log(), Catch::Contains("renewed the expired certificate at"));
    CHECK_THAT(ms1.log(), Catch::Contains("expired certificate " + identity.serial + " renewed"));
}

TEST_CASE_METHOD(
    ExpiredAgent,
    "an expired agent beyond the grace is refused, keeps its files and asks again until allowed") {
    fixture.set_config(kGraceKey, "1h");
    ms1.start();
    AgentProcess agent(root, "kvm-late");
    install(agent, 3h);
    const std::string key_before = read_text(agent.dir() / "agent.key");
    const std::string cert_before = read_text(agent.dir() / "agent.crt");
    const std::string properties_before = read_text(agent.properties_path());
    agent.start();
    // Two passes, each refused with the server's text.
    const bool refused_twice = wait_until(
        [&] {
            return count_of(agent.log(),
                            "renewing the expired certificate at " + ms1.enroll_address() +
                                ": refused by the server: expired_beyond_grace: certificate expired on ") >=
                   2;
        },
        15s);
    INFO(agent.log() << "\n--- ms1\n" << tail(ms1.log()));
    REQUIRE(refused_twice);
    CHECK_THAT(agent.log(),
               Catch::Contains("more than the grace period (1h) ago: re-enrol with a token (agentlbctl cert "
                               "reissue kvm-late)"));
    CHECK(agent.running());
    // Nothing lost: the files are as they were, the host and its certificate still recorded.
    CHECK(read_text(agent.dir() / "agent.key") == key_before);
    CHECK(read_text(agent.dir() / "agent.crt") == cert_before);
    CHECK(read_text(agent.properties_path()) == properties_before);
    CHECK_FALSE(fixture.store().is_revoked(identity.serial));
    CHECK(connected_to(fixture, "kvm-late") == std::nullopt);

    // Grace 0 says so too.
    fixture.set_config(kGraceKey, "0");
    CHECK(wait_until(
        [&] {
            return agent.log().find("expired certificates are not renewed (" + std::string(kGraceKey) +
                                    " is 0)") != std::string::npos;
        },
        10s));

    // The operator widens the grace: the agent, still asking, comes back as the same host.
    fixture.set_config(kGraceKey, "1d");
    CHECK(wait_until([&] { return connected_to(fixture, "kvm-late") == std::optional<std::string>("ms1"); },
                     15s));
    CHECK(serial_held(agent) != identity.serial);
    CHECK(fixture.store().find_host("kvm-late")->id == identity.host_id);
}
