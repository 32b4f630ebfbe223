// The agent daemon against servers and files that misbehave: a renewal that
// offers another CA, check intervals out of range, a held list too large for
// a hello, and control bytes in the properties file.
//
// A scripted server (tests/support/fake_mgmt) holds a certificate of the
// agent's own CA, so the TLS session is good and only the messages are
// hostile; the oversized list is corrected by a real agentlb-mgmt.

#include "certs/ca.hpp"
#include "common/props/properties_file.hpp"
#include "common/util/atomic_file.hpp"
#include "tests/agent/agent_cluster.hpp"
#include "tests/support/fake_mgmt.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <signal.h>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kHugeInterval = std::int64_t{1} << 62;

// The agent's key, certificate and CA as they are on disk.
struct CredentialFiles {
    std::string key;
    std::string cert;
    std::string ca;
    bool operator==(const CredentialFiles&) const = default;
};

CredentialFiles read_credentials(const AgentProcess& agent) {
    auto key = util::read_file(agent.dir() / "agent.key");
    auto cert = util::read_file(agent.dir() / "agent.crt");
    auto ca = util::read_file(agent.dir() / "ca.crt");
    REQUIRE(key.ok());
    REQUIRE(cert.ok());
    REQUIRE(ca.ok());
    return {*key, *cert, *ca};
}

// Credentials of `fixture`'s CA for `agent`, and its properties naming `host_value`.
void provision(const CaFixture& fixture,
               const AgentProcess& agent,
               const std::string& host_value,
               const MintOptions& mint = {},
               const std::string& extra = "") {
    const auto identity = fixture.mint(agent.name(), mint);
    install_credentials(agent, identity.key_pem, identity.cert_pem, fixture.ca_pem());
    REQUIRE(util::write_file_atomically(agent.properties_path(),
                                        "name=" + agent.name() + "\nzone=default\nhost=" + host_value +
                                            "\nhost.lb.check.interval=0\n" + extra)
                .ok());
}

// Two thirds through its life: the agent asks for a new one at connect.
MintOptions aged() {
    const auto now = std::chrono::system_clock::now();
    MintOptions options;
    options.not_before = now - std::chrono::hours(24 * 300);
    options.not_after = now + std::chrono::hours(24 * 65);
    return options;
}

// An unrelated CA that issues whatever is asked (the hostile server's).
class OtherCa {
public:
    OtherCa() {
        REQUIRE(certs::create_ca(dir_ / "ca", "agentlb CA").ok());  // same name as ours
        auto loaded = certs::CertificateAuthority::load(dir_ / "ca");
        REQUIRE(loaded.ok());
        ca_ = std::make_shared<certs::CertificateAuthority>(std::move(loaded).value());
    }
    // Answers a renew with a certificate of this CA, and this CA.
    std::function<std::optional<wire::Message>(const wire::Renew&)> answer(const std::string& name) const {
        return [ca = ca_, name](const wire::Renew& renew) -> std::optional<wire::Message> {
            certs::IssueOptions issue;
            issue.common_name = name;
            auto issued = ca->issue(renew.csr, issue);
            if (!issued) {
                return std::nullopt;
            }
            return wire::Certificate{issued->pem, ca->certificate_pem()};
        };
    }

private:
    TempDir dir_;
    std::shared_ptr<certs::CertificateAuthority> ca_;
};

std::string logs_of(const AgentProcess& agent) {
    return "--- agent\n" + tail(agent.log());
}

std::optional<std::string> property(const AgentProcess& agent, const std::string& key) {
    auto file = props::PropertiesFile::load(agent.properties_path());
    if (!file) {
        return std::nullopt;
    }
    return file->get(key);
}

}  // namespace

TEST_CASE("a renewal that offers a certificate from another CA is refused and nothing changes") {
    CaFixture fixture;
    TempDir root;
    OtherCa other;
    FakeMgmtOptions options;
    options.on_renew = other.answer("h-renew");
    FakeMgmt fake(fixture, "127.0.0.2", options);

    AgentProcess agent(root, "h-renew");
    provision(fixture, agent, fake.address() + "@static", aged());
    const CredentialFiles before = read_credentials(agent);
    agent.start();

    const bool refused = wait_until(
        [&] { return agent.log().find("refused the renewed certificate") != std::string::npos; }, 8s);
    INFO(logs_of(agent));
    REQUIRE(refused);
    CHECK_THAT(agent.log(), Catch::Contains("another CA certificate") && Catch::Contains("does not vouch"));
    CHECK(read_credentials(agent) == before);
    CHECK_FALSE(fs::exists(agent.dir() / "agent.key.new"));
    // Still connected with the old certificate, and it keeps working.
    CHECK(fake.open_sessions() == 1);
    agent.kill(SIGTERM);
    CHECK(agent.wait(5s) == std::optional<int>(0));
    CHECK(read_credentials(agent) == before);
}

TEST_CASE("a check interval out of range from a server is a protocol error and the list stays") {
    CaFixture fixture;
    TempDir root;

    SECTION("in the welcome's correction") {
        FakeMgmtOptions options;
        options.correction = wire::MsList{1, {"127.0.0.9:8250"}, "static", kHugeInterval, {}};
        FakeMgmt fake(fixture, "127.0.0.2", options);
        AgentProcess agent(root, "h-interval");
        const std::string held = fake.address() + "@static";
        provision(fixture, agent, held);
        agent.start();
        const bool refused = wait_until(
            [&] { return agent.log().find("protocol error in welcome") != std::string::npos; }, 8s);
        INFO(logs_of(agent));
        REQUIRE(refused);
        CHECK_THAT(agent.log(), Catch::Contains("check interval " + std::to_string(kHugeInterval)));
        CHECK(property(agent, "host") == std::optional<std::string>(held));
        CHECK(property(agent, "host.lb.check.interval") == std::optional<std::string>("0"));
        CHECK(agent.running());
    }
    SECTION("a heartbeat interval out of range in the welcome") {
        FakeMgmtOptions options;
        options.heartbeat_interval = kHugeInterval;
        FakeMgmt fake(fixture, "127.0.0.2", options);
        AgentProcess agent(root, "h-heartbeat");
        provision(fixture, agent, fake.address() + "@static");
        agent.start();
        const bool refused = wait_until(
            [&] { return agent.log().find("protocol error in welcome") != std::string::npos; }, 8s);
        INFO(logs_of(agent));
        REQUIRE(refused);
        CHECK_THAT(agent.log(), Catch::Contains("heartbeat interval " + std::to_string(kHugeInterval)));
        CHECK(agent.running());
    }
    SECTION("in an ms_list on a live session") {
        FakeMgmt fake(fixture, "127.0.0.2");
        AgentProcess agent(root, "h-interval");
        const std::string held = fake.address() + "@static";
        provision(fixture, agent, held);
        agent.start();
        REQUIRE(wait_until([&] { return fake.open_sessions() == 1; }, 8s));
        REQUIRE(
            fake.send(0, wire::MsList{7, {fake.address(), "127.0.0.9:8250"}, "static", kHugeInterval, {}}));
        const bool closed = wait_until(
            [&] {
                const auto sessions = fake.sessions();
                return !sessions.empty() && sessions[0].closed;
            },
            5s);
        INFO(logs_of(agent));
        REQUIRE(closed);
        CHECK_THAT(agent.log(), Catch::Contains("protocol error: ms_list (seq 7)"));
        CHECK(property(agent, "host") == std::optional<std::string>(held));
        CHECK(property(agent, "host.lb.check.interval") == std::optional<std::string>("0"));
        CHECK(fake.sessions()[0].received.empty());  // no ack
        // It reconnects: the server is not at fault for anything else.
        CHECK(wait_until([&] { return fake.open_sessions() == 1; }, 8s));
    }
}

TEST_CASE("a held list too large for a hello is not reported, and the server's correction replaces it") {
    CaFixture fixture;
    TempDir root;
    ManagedServer ms1(fixture, "ms1", "127.0.0.1");
    fixture.set_config("host", ms1.address());
    fixture.enroll("h-big");
    ms1.start();

    // 5,000 entries, about 90 KB: the real server first, so the agent reaches it.
    std::string big = ms1.address();
    for (int i = 0; i < 4999; ++i) {
        big += ",10." + std::to_string(100 + i / 65536) + "." + std::to_string((i / 256) % 256) + "." +
               std::to_string(i % 256) + ":8250";
    }
    REQUIRE(big.size() > 70000);
    AgentProcess agent(root, "h-big");
    provision(fixture, agent, big + "@static");
    agent.start();

    const bool corrected = wait_until(
        [&] { return property(agent, "host") == std::optional<std::string>(ms1.address() + "@static"); },
        10s);
    INFO(logs_of(agent) << "\n--- ms1\n" << tail(ms1.log(), 2000));
    REQUIRE(corrected);
    CHECK(connected_to(fixture, "h-big") == std::optional<std::string>("ms1"));
    CHECK_THAT(agent.log(), Catch::Contains("makes a hello larger than 65536 bytes"));
    CHECK(agent.running());
}

TEST_CASE("control bytes from the properties file are shown escaped in log lines") {
    CaFixture fixture;
    TempDir root;
    FakeMgmt fake(fixture, "127.0.0.2");
    const std::string esc = "\x1b[31m";

    SECTION("a zone with an escape sequence, in the refusal") {
        AgentProcess agent(root, "h-zone");
        provision(fixture, agent, fake.address() + "@static");
        REQUIRE(util::write_file_atomically(
                    agent.properties_path(),
                    "name=h-zone\nzone=red" + esc + "zone\x07\nhost=" + fake.address() + "@static\n")
                    .ok());
        agent.start();
        CHECK(agent.wait(5s) == std::optional<int>(2));
        INFO(logs_of(agent));
        CHECK_THAT(agent.log(), Catch::Contains("zone \"red\\x1b[31mzone\\x07\""));
        CHECK(agent.log().find(esc) == std::string::npos);
    }
    SECTION("an id that is not a number, in the refusal") {
        AgentProcess agent(root, "h-id");
        provision(fixture, agent, fake.address() + "@static", {}, "id=7" + esc + "\n");
        agent.start();
        CHECK(agent.wait(5s) == std::optional<int>(2));
        INFO(logs_of(agent));
        CHECK_THAT(agent.log(), Catch::Contains("7\\x1b[31m"));
        CHECK(agent.log().find(esc) == std::string::npos);
    }
    SECTION("a certificate path with an escape sequence, in the refusal") {
        AgentProcess agent(root, "h-path");
        provision(fixture, agent, fake.address() + "@static", {}, "tls.cert.file=cert" + esc + ".pem\n");
        agent.start();
        CHECK(agent.wait(5s) == std::optional<int>(2));
        INFO(logs_of(agent));
        CHECK_THAT(agent.log(), Catch::Contains("cert\\x1b[31m.pem"));
        CHECK(agent.log().find(esc) == std::string::npos);
    }
}

TEST_CASE("a check interval over one year in the properties file is refused at start") {
    TempDir root;
    CaFixture fixture;
    AgentProcess agent(root, "h-file-interval");
    provision(fixture,
              agent,
              "127.0.0.9:8250@static",
              {},
              "host.lb.check.interval=" + std::to_string(kHugeInterval) + "\n");
    agent.start();
    CHECK(agent.wait(5s) == std::optional<int>(2));
    INFO(logs_of(agent));
    CHECK_THAT(agent.log(), Catch::Contains("host.lb.check.interval") && Catch::Contains("too large"));
}

TEST_CASE("a zone or name in the properties file that no enrolment writes is refused at start") {
    TempDir root;
    CaFixture fixture;
    SECTION("a 70,000-byte zone") {
        AgentProcess agent(root, "h-big-zone");
        provision(fixture, agent, "127.0.0.9:8250@static");
        REQUIRE(util::write_file_atomically(
                    agent.properties_path(),
                    "name=h-big-zone\nzone=" + std::string(70000, 'z') + "\nhost=127.0.0.9:8250@static\n")
                    .ok());
        agent.start();
        CHECK(agent.wait(5s) == std::optional<int>(2));
        INFO(logs_of(agent).substr(0, 2000));
        CHECK_THAT(agent.log(),
                   Catch::Contains(agent.properties_path().string() + ": zone: zone \"" +
                                   std::string(64, 'z') + "...\" is 70000 bytes long; at most 256"));
        CHECK(agent.log().size() < 4000);
    }
    SECTION("a name that is not a host name") {
        AgentProcess agent(root, "h-bad-name");
        provision(fixture, agent, "127.0.0.9:8250@static");
        REQUIRE(util::write_file_atomically(
                    agent.properties_path(),
                    "name=" + std::string(100, 'n') + "\nzone=default\nhost=127.0.0.9:8250@static\n")
                    .ok());
        agent.start();
        CHECK(agent.wait(5s) == std::optional<int>(2));
        INFO(logs_of(agent));
        CHECK_THAT(agent.log(),
                   Catch::Contains(agent.properties_path().string() + ": name: \"") &&
                       Catch::Contains("is not a host name (at most 64 characters"));
    }
}
