// CA rotation without downtime, with real agentlb-mgmt, agentlb-agent and
// agentlbctl processes: agents learn the new CA over their session, renew
// from it when asked, and drop the old one once it is finished; nobody is
// disconnected; a CA that no trusted CA vouches for is refused.

#include "certs/ca.hpp"
#include "certs/fingerprint.hpp"
#include "certs/pem.hpp"
#include "certs/verify.hpp"
#include "common/util/atomic_file.hpp"
#include "common/util/clock.hpp"
#include "tests/agent/agent_cluster.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr int kAgents = 20;

struct RotationCluster {
    CaFixture fixture;
    TempDir root;
    ManagedServer ms1{fixture, "ms1", "127.0.0.1"};
    std::vector<std::unique_ptr<AgentProcess>> agents;

    RotationCluster() { fixture.set_config("host", ms1.address()); }

    CommandResult ctl(std::vector<std::string> args) const {
        std::vector<std::string> argv{AGENTLBCTL_BIN, "--db", fixture.db_path()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv, 20s);
    }

    void start_agents(int count) {
        for (int i = 0; i < count; ++i) {
            const std::string name = "kvm" + std::to_string(i);
            const auto identity = fixture.enroll(name);
            auto agent = std::make_unique<AgentProcess>(root, name);
            install_credentials(*agent, identity.key_pem, identity.cert_pem, fixture.ca_pem());
            REQUIRE(util::write_file_atomically(
                        agent->properties_path(),
                        "name=" + name + "\nzone=default\nhost=" + ms1.address() + "@static\n")
                        .ok());
            agent->start();
            agents.push_back(std::move(agent));
        }
        for (const auto& agent : agents) {
            INFO(agent->name() << ":\n" << tail(agent->log()));
            REQUIRE(wait_until(
                [&] { return connected_to(fixture, agent->name()) == std::optional<std::string>("ms1"); },
                15s));
        }
    }

    std::string describe() const {
        std::string text = "--- ms1\n" + tail(ms1.log(), 6000);
        for (const auto& agent : agents) {
            text += "\n--- " + agent->name() + "\n" + tail(agent->log(), 1500);
        }
        return text;
    }
};

std::vector<std::string> fingerprints_in(const fs::path& ca_file) {
    std::vector<std::string> out;
    auto text = util::read_file(ca_file);
    if (!text) {
        return out;
    }
    auto parsed = certs::parse_certificates_pem(*text);
    if (!parsed) {
        return out;
    }
    for (const auto& certificate : *parsed) {
        out.push_back(certs::fingerprint_of(certificate.get()));
    }
    return out;
}

bool contains(const std::vector<std::string>& set, const std::string& item) {
    return std::find(set.begin(), set.end(), item) != set.end();
}

// The agent's certificate verifies against `ca_pem` alone.
bool certificate_from(const AgentProcess& agent, const std::string& ca_pem) {
    auto cert = certs::load_certificate_file(agent.dir() / "agent.crt");
    return cert.ok() && certs::verify_certificate(cert->get(), ca_pem, util::unix_now()).ok();
}

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t count = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) {
        ++count;
    }
    return count;
}

}  // namespace

TEST_CASE_METHOD(
    RotationCluster,
    "a CA rotation under 20 connected agents disconnects none and ends with no old certificate") {
    ms1.start();
    start_agents(kAgents + 1);
    // One more agent, switched off during the rotation.
    std::unique_ptr<AgentProcess> away = std::move(agents.back());
    agents.pop_back();
    away->kill(SIGTERM);
    REQUIRE(away->wait(5s) == std::optional<int>(0));
    const std::string old_fingerprint = fixture.ca_fingerprint();
    const std::string old_pem = fixture.ca_pem();

    const auto rotated = ctl({"--json", "ca", "rotate", "--ca-dir", fixture.ca_dir().string()});
    INFO(rotated.err);
    REQUIRE(rotated.exit_code == 0);
    const auto active = fixture.store().ca_certificate();
    REQUIRE(active.has_value());
    const std::string new_pem = active->first;
    const std::string new_fingerprint = active->second;
    REQUIRE(new_fingerprint != old_fingerprint);

    // Every agent learns the new CA (vouched for by the old one) over its session.
    for (const auto& agent : agents) {
        INFO(describe());
        REQUIRE(wait_until(
            [&] {
                const auto held = fingerprints_in(agent->dir() / "ca.crt");
                return contains(held, new_fingerprint) && contains(held, old_fingerprint);
            },
            10s));
    }

    // The old CA still has certificates in use: finish refuses and names them.
    const auto early = ctl({"ca", "rotate", "--finish", "--ca-dir", fixture.ca_dir().string()});
    CHECK(early.exit_code == 1);
    CHECK_THAT(early.err, Catch::Contains("certificates in use") && Catch::Contains("kvm0 (agent"));

    const auto reissue = ctl({"ca", "rotate", "--reissue-all", "--rate", "50"});
    INFO(reissue.err);
    REQUIRE(reissue.exit_code == 0);
    for (const auto& agent : agents) {
        INFO(describe());
        REQUIRE(wait_until([&] { return certificate_from(*agent, new_pem); }, 15s));
    }
    // The agent that was away still trusts only the old CA, which vouches
    // for the new one: it connects, learns the new CA and renews too.
    away->start();
    {
        INFO(away->log() << "\n" << describe());
        REQUIRE(wait_until([&] { return certificate_from(*away, new_pem); }, 15s));
    }

    // The server renews its own certificate from the new CA on its next
    // renewal tick (every second) and records it in the store.
    {
        store::CertificateFilter server_filter;
        server_filter.host = "ms1";
        server_filter.issuer = old_fingerprint;
        server_filter.include_revoked = false;
        server_filter.include_superseded = false;
        INFO(describe());
        REQUIRE(wait_until([&] { return fixture.store().list_certificates(server_filter).empty(); }, 10s));
    }
    const auto finished = ctl({"ca", "rotate", "--finish", "--ca-dir", fixture.ca_dir().string()});
    INFO(finished.err << "\n" << describe());
    REQUIRE(finished.exit_code == 0);
    // No certificate in use from the old CA.
    store::CertificateFilter filter;
    filter.issuer = old_fingerprint;
    filter.include_revoked = false;
    filter.include_superseded = false;
    CHECK(fixture.store().list_certificates(filter).empty());

    // The agents drop the old CA once the cluster no longer lists it.
    for (const auto& agent : agents) {
        INFO(describe());
        REQUIRE(wait_until(
            [&] {
                return fingerprints_in(agent->dir() / "ca.crt") == std::vector<std::string>{new_fingerprint};
            },
            10s));
    }
    // None was disconnected: one session each, from start to end.
    for (const auto& agent : agents) {
        INFO(agent->name() << ":\n" << tail(agent->log()));
        CHECK(count_of(agent->log(), "connected to ") == 1);
        CHECK(count_of(agent->log(), "switched from") == 0);
        CHECK(connected_to(fixture, agent->name()) == std::optional<std::string>("ms1"));
    }
    CHECK_FALSE(old_pem.empty());
}

TEST_CASE_METHOD(RotationCluster, "an agent refuses a CA that no CA it trusts vouches for") {
    ms1.start();
    start_agents(1);
    const auto& agent = *agents.front();
    const std::string old_fingerprint = fixture.ca_fingerprint();
    // An unrelated CA (same name "agentlb CA", another key) recorded as the
    // active one without a cross certificate: the server lists it, but
    // nothing the agent trusts vouches for it.
    TempDir elsewhere;
    REQUIRE(certs::create_ca(elsewhere.path() / "ca").ok());
    auto unrelated = certs::CertificateAuthority::load(elsewhere.path() / "ca");
    REQUIRE(unrelated.ok());
    REQUIRE(fixture.store()
                .begin_ca_rotation(store::CaRotation{old_fingerprint,
                                                     unrelated->certificate_pem(),
                                                     unrelated->fingerprint(),
                                                     "",
                                                     util::unix_now()})
                .ok());

    INFO(describe());
    REQUIRE(wait_until(
        [&] {
            return agent.log().find("sent a CA certificate we do not trust, refused") != std::string::npos;
        },
        10s));
    CHECK_THAT(agent.log(), Catch::Contains(unrelated->fingerprint()));
    CHECK(fingerprints_in(agent.dir() / "ca.crt") == std::vector<std::string>{old_fingerprint});
    CHECK(connected_to(fixture, agent.name()) == std::optional<std::string>("ms1"));
}
