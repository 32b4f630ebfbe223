// The agent daemon's certificate against a real management server on
// 127.0.0.1: enrolment through the agent binary, start-up refusals, and
// renewal over the session.

#include "certs/inspect.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "common/props/properties_file.hpp"
#include "common/util/atomic_file.hpp"
#include "common/util/clock.hpp"
#include "tests/agent/agent_cluster.hpp"
#include "tests/support/store_away.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include <signal.h>
#include <sys/stat.h>
#include <thread>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A real server "ms1" on 127.0.0.1, named in the store's host setting; not
// started.
struct OneServer {
    CaFixture fixture;
    TempDir root;
    ManagedServer ms1{fixture, "ms1", "127.0.0.1"};
    OneServer() { fixture.set_config("host", ms1.address()); }
};

// The agent's certificate, once its key is checked to belong to it.
certs::X509Ptr certificate_matching_key(const AgentProcess& agent) {
    auto key = certs::load_private_key_file(agent.dir() / "agent.key");
    auto cert = certs::load_certificate_file(agent.dir() / "agent.crt");
    REQUIRE(key.ok());
    REQUIRE(cert.ok());
    CHECK(certs::key_matches_certificate(key->get(), cert->get()));
    return std::move(cert).value();
}

}  // namespace

TEST_CASE_METHOD(OneServer, "enrolment end to end through the agent binary") {
    ms1.start();
    AgentProcess agent(root, "kvm-1");
    const std::string token = fixture.create_token("zone-a");
    auto enrol = enrolment_options(ms1, token, fixture.ca_fingerprint());
    enrol.insert(enrol.end(), {"--name", "kvm-1"});
    agent.start(enrol);
    const bool connected =
        wait_until([&] { return connected_to(fixture, "kvm-1") == std::optional<std::string>("ms1"); }, 10s);
    INFO(agent.log() << "\n--- ms1\n" << tail(ms1.log()));
    REQUIRE(connected);

    auto file = props::PropertiesFile::load(agent.properties_path());
    REQUIRE(file.ok());
    auto host = fixture.store().find_host("kvm-1");
    REQUIRE(host.has_value());
    CHECK(file->get("id") == std::optional<std::string>(std::to_string(host->id)));
    CHECK(file->get("name") == std::optional<std::string>("kvm-1"));
    CHECK(file->get("zone") == std::optional<std::string>("zone-a"));
    CHECK(file->get("host") == std::optional<std::string>(ms1.address() + "@static"));
    CHECK(file->get("host.lb.check.interval") == std::optional<std::string>("0"));

    struct ::stat st {};
    REQUIRE(::stat((agent.dir() / "agent.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    const auto cert = certificate_matching_key(agent);
    CHECK(certs::common_name_of(cert.get()) == "kvm-1");
    auto ca = util::read_file(agent.dir() / "ca.crt");
    REQUIRE(ca.ok());
    CHECK(*ca == fixture.ca_pem());

    // A service manager restarts it with the same command line: the used
    // token is not presented again, the certificate is used.
    agent.kill(SIGTERM);
    REQUIRE(agent.wait(5s) == std::optional<int>(0));
    REQUIRE(wait_until([&] { return !connected_to(fixture, "kvm-1").has_value(); }, 5s));
    agent.start(enrol);
    CHECK(
        wait_until([&] { return connected_to(fixture, "kvm-1") == std::optional<std::string>("ms1"); }, 10s));
    CHECK_THAT(agent.log(), Catch::Contains("ignoring the enrolment options"));
    CHECK(fixture.store().list_hosts().size() == 1);
}

TEST_CASE_METHOD(OneServer, "enrolment keeps retrying while the enrollment port refuses") {
    AgentProcess agent(root, "late");
    agent.start_enrolling(fixture, ms1);
    REQUIRE(wait_until([&] { return agent.log().find("retrying in") != std::string::npos; }, 5s));
    CHECK(agent.running());
    CHECK_FALSE(fs::exists(agent.dir() / "agent.crt"));
    ms1.start();
    const bool connected =
        wait_until([&] { return connected_to(fixture, "late") == std::optional<std::string>("ms1"); }, 8s);
    INFO(agent.log());
    CHECK(connected);
}

TEST_CASE_METHOD(OneServer, "enrolment keeps retrying while the server cannot reach its store") {
    ms1.start();
    AgentProcess agent(root, "patient");
    {
        // The token is created first: the store is away while the agent asks.
        const auto token = fixture.create_token();
        StoreAway away(fixture.db_path());
        auto enrol = enrolment_options(ms1, token, fixture.ca_fingerprint());
        enrol.insert(enrol.end(), {"--name", "patient"});
        agent.start(enrol);
        REQUIRE(wait_until(
            [&] {
                const auto log = agent.log();
                return log.find("cannot reach its store") != std::string::npos &&
                       log.find("retrying in") != std::string::npos;
            },
            5s));
        INFO(agent.log());
        CHECK(agent.running());
        // Not reported as a refused token.
        CHECK_THAT(agent.log(), !Catch::Contains("refused by the server"));
        CHECK_FALSE(fs::exists(agent.dir() / "agent.crt"));
    }
    const bool connected =
        wait_until([&] { return connected_to(fixture, "patient") == std::optional<std::string>("ms1"); }, 8s);
    INFO(agent.log());
    CHECK(connected);
}

TEST_CASE_METHOD(OneServer, "a refused token or a wrong CA fingerprint ends enrolment with exit code 1") {
    ms1.start();

    AgentProcess bad_token(root, "bad-token");
    bad_token.start(enrolment_options(ms1, "not-a-token", fixture.ca_fingerprint()));
    const auto token_code = bad_token.wait(10s);
    INFO(bad_token.log());
    CHECK(token_code == std::optional<int>(1));
    CHECK_THAT(bad_token.log(), Catch::Contains("refused by the server"));
    CHECK_FALSE(fs::exists(bad_token.dir() / "agent.crt"));
    CHECK_FALSE(fs::exists(bad_token.dir() / "agent.key"));

    AgentProcess bad_pin(root, "bad-pin");
    bad_pin.start(enrolment_options(ms1, fixture.create_token(), "sha256:" + std::string(64, '0')));
    const auto pin_code = bad_pin.wait(10s);
    INFO(bad_pin.log());
    CHECK(pin_code == std::optional<int>(1));
    CHECK_THAT(bad_pin.log(), Catch::Contains("not trusted"));
    CHECK_FALSE(fs::exists(bad_pin.dir() / "agent.crt"));
}

TEST_CASE("start-up refusals exit with code 2 and say why") {
    TempDir root;
    SECTION("no certificate and no enrolment options") {
        AgentProcess agent(root, "fresh");
        agent.start();
        CHECK(agent.wait(5s) == std::optional<int>(2));
        CHECK_THAT(agent.log(), Catch::Contains("not enrolled") && Catch::Contains("--enroll-token"));
    }
    SECTION("a corrupt properties file") {
        AgentProcess agent(root, "corrupt");
        REQUIRE(util::write_file_atomically(agent.properties_path(), "host=a@static\nno equals sign\n").ok());
        agent.start();
        CHECK(agent.wait(5s) == std::optional<int>(2));
        CHECK_THAT(agent.log(), Catch::Contains("line 2"));
    }
    SECTION("a key that does not belong to the certificate") {
        CaFixture fixture;
        AgentProcess agent(root, "mismatch");
        const auto one = fixture.mint("mismatch");
        const auto other = fixture.mint("mismatch");
        install_credentials(agent, other.key_pem, one.cert_pem, fixture.ca_pem());
        agent.start();
        CHECK(agent.wait(5s) == std::optional<int>(2));
        CHECK_THAT(agent.log(), Catch::Contains("does not belong to the certificate"));
    }
    SECTION("bad options") {
        auto result = run_command({agent_binary(), "--no-such-flag"});
        CHECK(result.exit_code == 2);
        CHECK_THAT(result.err, Catch::Contains("no-such-flag"));
    }
}

TEST_CASE_METHOD(OneServer, "a certificate two thirds through its life is renewed over the session") {
    ms1.start();
    fixture.enroll("old-cert");
    const auto now = std::chrono::system_clock::now();
    MintOptions aged;
    aged.not_before = now - std::chrono::hours(24 * 300);
    aged.not_after = now + std::chrono::hours(24 * 65);
    const auto identity = fixture.mint("old-cert", aged);

    AgentProcess agent(root, "old-cert");
    install_credentials(agent, identity.key_pem, identity.cert_pem, fixture.ca_pem());
    REQUIRE(util::write_file_atomically(agent.properties_path(),
                                        "name=old-cert\nzone=default\nhost=" + ms1.address() + "@static\n")
                .ok());
    agent.start();
    const bool renewed = wait_until(
        [&] {
            auto cert = certs::load_certificate_file(agent.dir() / "agent.crt");
            return cert.ok() && certs::serial_of(cert->get()) != identity.serial;
        },
        10s);
    INFO(agent.log() << "\n--- ms1\n" << tail(ms1.log()));
    REQUIRE(renewed);
    REQUIRE(wait_until(
        [&] { return agent.log().find("stored the renewed certificate") != std::string::npos; }, 5s));
    const auto cert = certificate_matching_key(agent);
    CHECK_FALSE(certs::needs_renewal(cert.get(), util::unix_now()));
    CHECK_FALSE(fs::exists(agent.dir() / "agent.key.new"));

    // The next connection uses the new pair.
    agent.kill(SIGTERM);
    REQUIRE(agent.wait(5s) == std::optional<int>(0));
    agent.start();
    CHECK(wait_until([&] { return connected_to(fixture, "old-cert") == std::optional<std::string>("ms1"); },
                     10s));
    CHECK(agent.log().find("asking") == agent.log().rfind("asking"));  // one renewal only
}

TEST_CASE_METHOD(OneServer, "the agent renews at the servers' fraction, with their key type and validity") {
    fixture.set_config("agentlb.ca.cert.renewal.fraction", "0.5");
    fixture.set_config("agentlb.ca.key.type", "p384");
    fixture.set_config("ca.framework.cert.validity.period", "2h");
    ms1.start();
    fixture.enroll("half-way");
    // Past half of its life, not two thirds: only the servers' policy makes it due.
    const auto now = std::chrono::system_clock::now();
    MintOptions aged;
    aged.not_before = now - 45min;
    aged.not_after = now + 40min;
    const auto identity = fixture.mint("half-way", aged);

    AgentProcess agent(root, "half-way");
    install_credentials(agent, identity.key_pem, identity.cert_pem, fixture.ca_pem());
    REQUIRE(util::write_file_atomically(agent.properties_path(),
                                        "name=half-way\nzone=default\nhost=" + ms1.address() + "@static\n")
                .ok());
    agent.start();
    const bool renewed = wait_until(
        [&] { return agent.log().find("stored the renewed certificate") != std::string::npos; }, 10s);
    INFO(agent.log() << "\n--- ms1\n" << tail(ms1.log()));
    REQUIRE(renewed);
    CHECK(agent.log().find("(p384 key)") != std::string::npos);
    const auto cert = certificate_matching_key(agent);
    CHECK(certs::serial_of(cert.get()) != identity.serial);
    auto key = certs::load_private_key_file(agent.dir() / "agent.key");
    REQUIRE(key.ok());
    CHECK(EVP_PKEY_get_bits(key->get()) == 384);
    // Two hours, where the host is (the global value here).
    const auto left = certs::not_after_of(cert.get()) - util::unix_now();
    CHECK(left > 2 * 3600 - 60);
    CHECK(left <= 2 * 3600);
}

TEST_CASE_METHOD(OneServer, "with automatic renewal off the agent does not renew, and says so once") {
    fixture.set_config("ca.framework.cert.automatic.renewal", "false");
    ms1.start();
    fixture.enroll("manual");
    const auto now = std::chrono::system_clock::now();
    MintOptions aged;
    aged.not_before = now - std::chrono::hours(24 * 300);
    aged.not_after = now + std::chrono::hours(24 * 65);
    const auto identity = fixture.mint("manual", aged);

    AgentProcess agent(root, "manual");
    install_credentials(agent, identity.key_pem, identity.cert_pem, fixture.ca_pem());
    REQUIRE(util::write_file_atomically(agent.properties_path(),
                                        "name=manual\nzone=default\nhost=" + ms1.address() + "@static\n")
                .ok());
    agent.start();
    REQUIRE(wait_until([&] { return connected_to(fixture, "manual") == std::optional<std::string>("ms1"); },
                       10s));
    REQUIRE(wait_until(
        [&] { return agent.log().find("not renewing, automatic renewal is off") != std::string::npos; }, 5s));
    std::this_thread::sleep_for(1s);
    INFO(agent.log());
    CHECK(agent.log().find("asking") == std::string::npos);
    auto cert = certs::load_certificate_file(agent.dir() / "agent.crt");
    REQUIRE(cert.ok());
    CHECK(certs::serial_of(cert->get()) == identity.serial);

    // Turned back on: the next list carries it, and the agent renews.
    fixture.set_config("ca.framework.cert.automatic.renewal", "true");
    CHECK(wait_until([&] { return agent.log().find("stored the renewed certificate") != std::string::npos; },
                     10s));
}
