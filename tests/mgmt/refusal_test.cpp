// Connections the agent port must refuse (issue 3), each while a good agent
// keeps heartbeating on the same server. The refusal is checked on the
// server's side (its metrics and log), never by the client's own failure.

#include "tests/mgmt/integration_helpers.hpp"

#include <openssl/ssl.h>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

struct Bench {
    CaFixture fixture;
    MgmtServer server{fixture, "M1", {"--handshake-timeout", "1"}};
    std::unique_ptr<TestAgent> good;

    Bench() {
        fixture.set_config("host", server.address());
        auto identity = fixture.enroll("good");
        REQUIRE(wait_synced(fixture, server));
        good = connect_agent(fixture, identity, server);
    }

    // The refusal was counted under `reason` and logged at warn.
    void expect_refused(const std::string& reason) {
        const auto sample = "agentlb_handshakes_total{result=\"" + reason + "\"}";
        INFO("server log:\n" << server.log());
        CHECK(wait_until([&] { return server.metric(sample) >= 1; }, 3s));
        CHECK_THAT(server.log(), Catch::Contains("warning refused") && Catch::Contains(reason));
        // Nobody else was disturbed.
        CHECK(good->ping());
        CHECK(server.metric("agentlb_agents_connected") == 1);
    }
};

}  // namespace

TEST_CASE("refused: no client certificate") {
    Bench bench;
    TlsProbeOptions options;
    options.ca_pem = bench.fixture.ca_pem();
    const auto probe = tls_probe(bench.server.port(), options);
    CHECK_FALSE(probe.got_application_data);
    bench.expect_refused("no_certificate");
}

TEST_CASE("refused: a certificate from another CA") {
    Bench bench;
    ForeignCa other;
    TestAgent intruder(other.mint("good"), bench.fixture.ca_pem());
    if (intruder.connect(bench.server.address()).empty()) {
        auto answer = intruder.hello();
        CHECK_FALSE(answer.has_value());
    }
    bench.expect_refused("unknown_ca");
}

TEST_CASE("refused: an expired certificate") {
    Bench bench;
    const auto now = std::chrono::system_clock::now();
    MintOptions options;
    options.not_before = now - std::chrono::hours(48);
    options.not_after = now - std::chrono::hours(24);
    TestAgent expired(bench.fixture.mint("good", options), bench.fixture.ca_pem());
    if (expired.connect(bench.server.address()).empty()) {
        CHECK_FALSE(expired.hello().has_value());
    }
    bench.expect_refused("expired");
}

TEST_CASE("refused: a revoked certificate") {
    Bench bench;
    const auto first = bench.fixture.enroll("h1");
    // Enrolling h1 again with a token for its name revokes its first certificate.
    const auto second = bench.fixture.enroll("h1");
    REQUIRE(bench.fixture.store().is_revoked(first.serial));
    REQUIRE(wait_synced(bench.fixture, bench.server));
    TestAgent revoked(first, bench.fixture.ca_pem());
    if (revoked.connect(bench.server.address()).empty()) {
        CHECK_FALSE(revoked.hello().has_value());
    }
    bench.expect_refused("revoked");
    // The current certificate of the same host still works.
    auto current = connect_agent(bench.fixture, second, bench.server);
    CHECK(current->ping());
}

TEST_CASE("refused: a valid certificate whose hello claims another host") {
    Bench bench;
    auto identity = bench.fixture.enroll("h1");
    bench.fixture.enroll("h2");
    TestAgent liar(identity, bench.fixture.ca_pem());
    REQUIRE(liar.connect(bench.server.address()).empty());
    auto answer = liar.hello("", 0, std::string("h2"));
    REQUIRE(answer.has_value());
    const auto* error = std::get_if<wire::Error>(&*answer);
    REQUIRE(error != nullptr);
    CHECK(error->code == "identity_mismatch");
    CHECK(liar.wait_closed(2s));
    bench.expect_refused("identity_mismatch");
}

TEST_CASE("refused: the name a hello claims is shown escaped once in the log") {
    Bench bench;
    auto identity = bench.fixture.enroll("h1");
    TestAgent liar(identity, bench.fixture.ca_pem());
    REQUIRE(liar.connect(bench.server.address()).empty());
    // A newline would forge a second log line; the log shows it as \x0a, and
    // a backslash of the peer's as \\ -- each escaped exactly once.
    auto answer = liar.hello("", 0, std::string("h2\nforged\\x"));
    REQUIRE(answer.has_value());
    bench.expect_refused("identity_mismatch");
    const auto log = bench.server.log();
    INFO("server log:\n" << log);
    CHECK_THAT(log, Catch::Contains("hello names 'h2\\x0aforged\\\\x'"));
    CHECK_THAT(log, !Catch::Contains("h2\\\\x0a"));
}

TEST_CASE("refused: a certificate for a host the store does not know") {
    Bench bench;
    TestAgent ghost(bench.fixture.mint("ghost"), bench.fixture.ca_pem());
    REQUIRE(ghost.connect(bench.server.address()).empty());
    auto answer = ghost.hello();
    REQUIRE(answer.has_value());
    const auto* error = std::get_if<wire::Error>(&*answer);
    REQUIRE(error != nullptr);
    CHECK(error->code == "unknown_host");
    bench.expect_refused("unknown_host");
}

TEST_CASE("refused: plaintext bytes") {
    Bench bench;
    CHECK(server_closes(bench.server.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3s));
    CHECK(server_closes(bench.server.port(), std::string("\x00\x00\x00\x10{\"type\":\"ping\"}", 19), 3s));
    bench.expect_refused("not_tls");
}

TEST_CASE("refused: a peer that opens TCP and sends nothing is dropped after the handshake timeout") {
    Bench bench;
    const auto started = std::chrono::steady_clock::now();
    CHECK(server_closes(bench.server.port(), "", 4s));
    CHECK(std::chrono::steady_clock::now() - started >= 900ms);
    bench.expect_refused("timeout");
}

TEST_CASE("refused: a TLS 1.2-only client") {
    Bench bench;
    auto identity = bench.fixture.enroll("h1");
    TlsProbeOptions options;
    options.max_version = TLS1_2_VERSION;
    options.cert_pem = identity.cert_pem;
    options.key_pem = identity.key_pem;
    const auto probe = tls_probe(bench.server.port(), options);
    CHECK_FALSE(probe.handshake_ok);
    bench.expect_refused("tls_version");
}

TEST_CASE("refused: a TLS 1.0 client") {
    Bench bench;
    TlsProbeOptions options;
    options.min_version = TLS1_VERSION;
    options.max_version = TLS1_VERSION;
    options.lower_security_level = true;
    const auto probe = tls_probe(bench.server.port(), options);
    CHECK_FALSE(probe.handshake_ok);
    bench.expect_refused("tls_version");
}
