// The enrollment port: one-time tokens traded for a certificate and a list.

#include "certs/fingerprint.hpp"
#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "certs/token.hpp"
#include "tests/mgmt/integration_helpers.hpp"

#include <algorithm>
#include <chrono>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

struct EnrollBench {
    CaFixture fixture;
    MgmtServer server{fixture, "M1"};
    EnrollBench() {
        fixture.set_config("host", server.address() + ",127.0.0.1:1");
        fixture.set_config("indirect.agent.lb.algorithm", "roundrobin");
        fixture.set_config("indirect.agent.lb.check.interval", "60");
        REQUIRE(wait_synced(fixture, server));
    }

    EnrollOutcome enroll(const std::string& token,
                         const std::string& name,
                         const std::string& csr,
                         const std::string& source_address = "") {
        wire::EnrollRequest request;
        request.token = token;
        request.name = name;
        request.csr = csr;
        return enroll_over_network(
            server.enroll_address(), fixture.ca_fingerprint(), request, 5s, source_address);
    }
};

const wire::Error* error_of(const EnrollOutcome& outcome) {
    return outcome.answer ? std::get_if<wire::Error>(&*outcome.answer) : nullptr;
}

}  // namespace

TEST_CASE("a good token enrolls once and gives a working certificate and the list") {
    EnrollBench bench;
    const auto token = bench.fixture.create_token();
    const auto keys = make_key_and_csr("h1");
    const auto outcome = bench.enroll(token, "h1", keys.csr_pem);
    INFO(outcome.transport_error);
    REQUIRE(outcome.answer.has_value());
    const auto* enrolled = std::get_if<wire::EnrollResponse>(&*outcome.answer);
    INFO(wire::encode_message(*outcome.answer));
    REQUIRE(enrolled != nullptr);
    CHECK(enrolled->host_id == 1);
    CHECK(enrolled->name == "h1");
    CHECK(enrolled->zone == "default");
    CHECK(enrolled->ca == bench.fixture.ca_pem());
    CHECK(enrolled->algorithm == "roundrobin");
    CHECK(enrolled->interval == 60);
    CHECK(enrolled->list == std::vector<std::string>{bench.server.address(), "127.0.0.1:1"});
    auto certificate = certs::parse_certificate_pem(enrolled->certificate);
    REQUIRE(certificate.ok());
    CHECK(certs::common_name_of(certificate->get()) == "h1");

    // The list from enrollment is final: no correction at the first hello.
    AgentIdentity identity{
        "h1", "default", enrolled->host_id, keys.key_pem, enrolled->certificate, "", keys.csr_pem};
    std::optional<wire::MsList> correction;
    auto agent = connect_agent(bench.fixture,
                               identity,
                               bench.server,
                               lb::format_agent_host_value({enrolled->list, enrolled->algorithm}),
                               enrolled->interval,
                               &correction);
    CHECK_FALSE(correction.has_value());

    // The same token again is refused and changes nothing.
    const auto again = bench.enroll(token, "h9", make_key_and_csr("h9").csr_pem);
    const auto* error = error_of(again);
    REQUIRE(error != nullptr);
    CHECK(error->code == "enrollment_refused");
    CHECK_FALSE(error->message.empty());
    CHECK_FALSE(bench.fixture.store().find_host("h9").has_value());
    CHECK(bench.server.metric("agentlb_enrollments_total{result=\"ok\"}") == 1);
    CHECK(bench.server.metric("agentlb_enrollments_total{result=\"refused\"}") == 1);
}

TEST_CASE("an expired token is refused") {
    EnrollBench bench;
    const auto token = certs::generate_join_token();
    store::TokenSpec spec;
    spec.hash = certs::hash_token(token);
    spec.created_at = 1000;
    spec.expires_at = 2000;
    bench.fixture.store().create_token(spec);
    const auto outcome = bench.enroll(token, "h1", make_key_and_csr("h1").csr_pem);
    const auto* error = error_of(outcome);
    REQUIRE(error != nullptr);
    CHECK(error->code == "enrollment_refused");
    CHECK_THAT(error->message, Catch::Contains("expire"));
    CHECK_FALSE(bench.fixture.store().find_host("h1").has_value());
}

TEST_CASE("a garbage CSR is refused and the token stays usable") {
    EnrollBench bench;
    const auto token = bench.fixture.create_token();
    const auto outcome = bench.enroll(token, "h1", "-----BEGIN CERTIFICATE REQUEST-----\ngarbage\n");
    const auto* error = error_of(outcome);
    REQUIRE(error != nullptr);
    CHECK(error->code == "bad_csr");
    CHECK_FALSE(bench.fixture.store().find_host("h1").has_value());
    CHECK(bench.server.metric("agentlb_enrollments_total{result=\"bad_csr\"}") == 1);

    const auto retry = bench.enroll(token, "h1", make_key_and_csr("h1").csr_pem);
    REQUIRE(retry.answer.has_value());
    CHECK(std::holds_alternative<wire::EnrollResponse>(*retry.answer));
}

TEST_CASE("a client pinning another CA fingerprint refuses the server") {
    EnrollBench bench;
    const auto token = bench.fixture.create_token();
    ForeignCa other;
    wire::EnrollRequest request;
    request.token = token;
    request.name = "h1";
    request.csr = make_key_and_csr("h1").csr_pem;
    // The fingerprint of a different CA.
    auto other_ca = certs::parse_certificate_pem(other.ca_pem());
    REQUIRE(other_ca.ok());
    const auto outcome =
        enroll_over_network(bench.server.enroll_address(), certs::fingerprint_of(other_ca->get()), request);
    CHECK_FALSE(outcome.transport_error.empty());
    CHECK_FALSE(outcome.answer.has_value());
    CHECK_FALSE(bench.fixture.store().find_host("h1").has_value());
    // The token was never sent: it still works with the right pin.
    const auto good = bench.enroll(token, "h1", make_key_and_csr("h1").csr_pem);
    REQUIRE(good.answer.has_value());
    CHECK(std::holds_alternative<wire::EnrollResponse>(*good.answer));
}

TEST_CASE("a malformed token or name is refused before the store is touched") {
    EnrollBench bench;
    const auto bad_token = bench.enroll("short", "h1", make_key_and_csr("h1").csr_pem);
    const auto* error = error_of(bad_token);
    REQUIRE(error != nullptr);
    CHECK(error->code == "invalid_token");

    const auto bad_name =
        bench.enroll(bench.fixture.create_token(), std::string("h\n1"), make_key_and_csr("h1").csr_pem);
    error = error_of(bad_name);
    REQUIRE(error != nullptr);
    CHECK(error->code == "bad_request");
}

TEST_CASE("undecodable enrollment frames are refused and the server keeps serving") {
    EnrollBench bench;
    auto frame = [](const std::string& payload) {
        const auto size = static_cast<std::uint32_t>(payload.size());
        std::string bytes{static_cast<char>(size >> 24),
                          static_cast<char>(size >> 16),
                          static_cast<char>(size >> 8),
                          static_cast<char>(size)};
        return bytes + payload;
    };
    // Each was once enough to abort agentlb-mgmt (a double free in the
    // coroutine that answers), with no token or certificate needed.
    const std::vector<std::pair<std::string, std::string>> hostile{
        {"not JSON", frame("nope")},
        {"not an object", frame("[1,2,3]")},
        {"a missing field", frame(R"({"type":"enroll","v":1,"token":"x"})")},
        {"another message type", frame(R"({"type":"ping","v":1,"seq":1})")},
        {"an empty frame", std::string(4, '\0')},
        {"an oversized length", std::string("\x7f\xff\xff\xff", 4)},
    };
    for (const auto& [what, bytes] : hostile) {
        INFO(what);
        const auto outcome =
            send_to_enrollment_port(bench.server.enroll_address(), bench.fixture.ca_fingerprint(), bytes);
        INFO(outcome.transport_error);
        REQUIRE(outcome.answer.has_value());
        const auto* error = error_of(outcome);
        REQUIRE(error != nullptr);
        CHECK(error->code == "bad_request");
        CHECK_FALSE(error->message.empty());
        REQUIRE(bench.server.process().is_running());
    }
    CHECK(bench.server.metric("agentlb_enrollments_total{result=\"bad_request\"}") ==
          static_cast<double>(hostile.size()));
    // Still serving: a good request enrolls.
    const auto good = bench.enroll(bench.fixture.create_token(), "h1", make_key_and_csr("h1").csr_pem);
    REQUIRE(good.answer.has_value());
    CHECK(std::holds_alternative<wire::EnrollResponse>(*good.answer));
    CHECK(bench.server.sanitizer_clean());
}

TEST_CASE("a name that differs only in case from an enrolled host is refused and changes nothing") {
    EnrollBench bench;
    const auto first = bench.enroll(bench.fixture.create_token(), "kvm1", make_key_and_csr("kvm1").csr_pem);
    REQUIRE(first.answer.has_value());
    REQUIRE(std::holds_alternative<wire::EnrollResponse>(*first.answer));
    const auto generation = bench.fixture.store().generation();

    const auto token = bench.fixture.create_token();
    const auto upper = bench.enroll(token, "KVM1", make_key_and_csr("KVM1").csr_pem);
    INFO(upper.transport_error);
    const auto* error = error_of(upper);
    REQUIRE(error != nullptr);
    CHECK(error->code == "enrollment_refused");
    CHECK_THAT(error->message, Catch::Contains("already registered as \"kvm1\""));
    const auto hosts = bench.fixture.store().list_hosts();
    REQUIRE(hosts.size() == 1);
    CHECK(hosts[0].name == "kvm1");
    CHECK(bench.fixture.store().certificates_of("KVM1").empty());
    CHECK(bench.fixture.store().generation() == generation);
    // The token was not spent.
    const auto other = bench.enroll(token, "kvm2", make_key_and_csr("kvm2").csr_pem);
    REQUIRE(other.answer.has_value());
    CHECK(std::holds_alternative<wire::EnrollResponse>(*other.answer));
}

TEST_CASE("a re-enrolment asked in other case keeps the host's id and stored name") {
    EnrollBench bench;
    const auto first = bench.enroll(bench.fixture.create_token(), "kvm1", make_key_and_csr("kvm1").csr_pem);
    REQUIRE(first.answer.has_value());
    REQUIRE(std::holds_alternative<wire::EnrollResponse>(*first.answer));

    const auto token = bench.fixture.create_token(std::nullopt, std::string("kvm1"));
    const auto keys = make_key_and_csr("KVM1");
    const auto again = bench.enroll(token, "KVM1", keys.csr_pem);
    REQUIRE(again.answer.has_value());
    const auto* enrolled = std::get_if<wire::EnrollResponse>(&*again.answer);
    INFO(wire::encode_message(*again.answer));
    REQUIRE(enrolled != nullptr);
    CHECK(enrolled->host_id == 1);
    CHECK(enrolled->name == "kvm1");
    auto certificate = certs::parse_certificate_pem(enrolled->certificate);
    REQUIRE(certificate.ok());
    CHECK(certs::common_name_of(certificate->get()) == "kvm1");
    // The agent port knows it by the certificate's name.
    AgentIdentity identity{"kvm1", "default", 1, keys.key_pem, enrolled->certificate, "", keys.csr_pem};
    connect_agent(bench.fixture, identity, bench.server);
}

TEST_CASE("a host name with characters outside RFC 1123 is refused, naming the character") {
    EnrollBench bench;
    const auto token = bench.fixture.create_token();
    const auto outcome = bench.enroll(token, "a/CN=kvm1,O=*", make_key_and_csr("kvm1").csr_pem);
    INFO(outcome.transport_error);
    const auto* error = error_of(outcome);
    REQUIRE(error != nullptr);
    CHECK(error->code == "bad_request");
    CHECK_THAT(error->message, Catch::Contains("'/' at position 2"));
    CHECK(bench.fixture.store().list_hosts().empty());

    const auto underscore = bench.enroll(token, "kvm_1", make_key_and_csr("kvm_1").csr_pem);
    error = error_of(underscore);
    REQUIRE(error != nullptr);
    CHECK(error->code == "bad_request");
    CHECK_THAT(error->message, Catch::Contains("'_' at position 4"));
    CHECK(bench.fixture.store().list_hosts().empty());
}

TEST_CASE("wrong tokens from one address are rate limited, other addresses still enrol") {
    EnrollBench bench;
    const auto csr = make_key_and_csr("h1").csr_pem;
    constexpr int kAttempts = 50;
    std::vector<std::string> codes;
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < kAttempts; ++i) {
        const auto outcome = bench.enroll(certs::generate_join_token(), "h1", csr, "127.0.0.1");
        INFO("attempt " << i << ": " << outcome.transport_error);
        const auto* error = error_of(outcome);
        REQUIRE(error != nullptr);
        codes.push_back(error->code);
    }
    // One more attempt is let through every 6 s: a slow run may see a few.
    const auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
    const auto refused = std::count(codes.begin(), codes.end(), "enrollment_refused");
    const auto limited = std::count(codes.begin(), codes.end(), "rate_limited");
    std::vector<std::string> first_eleven(10, "enrollment_refused");
    first_eleven.push_back("rate_limited");
    CHECK(std::vector<std::string>(codes.begin(), codes.begin() + 11) == first_eleven);
    CHECK(refused + limited == kAttempts);
    CHECK(refused <= 10 + seconds.count() / 6);
    CHECK(bench.server.metric("agentlb_enrollments_total{result=\"refused\"}") ==
          static_cast<double>(refused));
    CHECK(bench.server.metric("agentlb_enrollments_total{result=\"rate_limited\"}") ==
          static_cast<double>(limited));

    // A good token from the limited address is refused without being spent...
    const auto token = bench.fixture.create_token();
    const auto blocked = bench.enroll(token, "h1", csr, "127.0.0.1");
    const auto* error = error_of(blocked);
    REQUIRE(error != nullptr);
    CHECK(error->code == "rate_limited");
    CHECK(bench.fixture.store().list_hosts().empty());
    // ...and works from another address.
    const auto good = bench.enroll(token, "h1", csr, "127.0.0.2");
    INFO(good.transport_error);
    REQUIRE(good.answer.has_value());
    CHECK(std::holds_alternative<wire::EnrollResponse>(*good.answer));

    // The log holds the first refusals and one line for the limit, not one per attempt.
    const auto log = bench.server.log();
    std::size_t warnings = 0;
    for (std::size_t at = log.find("enrollment from 127.0.0.1:"); at != std::string::npos;
         at = log.find("enrollment from 127.0.0.1:", at + 1)) {
        ++warnings;
    }
    INFO(log);
    CHECK(warnings <= static_cast<std::size_t>(refused) + 2);
    CHECK_THAT(log, Catch::Contains("rate_limited"));
}

TEST_CASE("a requested zone longer than 256 bytes is refused as bad_request and the token stays usable") {
    EnrollBench bench;
    const auto token = bench.fixture.create_token();
    wire::EnrollRequest request;
    request.token = token;
    request.name = "kvm1";
    request.csr = make_key_and_csr("kvm1").csr_pem;
    request.zone = std::string(300, 'z');
    const auto outcome =
        enroll_over_network(bench.server.enroll_address(), bench.fixture.ca_fingerprint(), request, 5s);
    INFO(outcome.transport_error);
    const auto* error = error_of(outcome);
    REQUIRE(error != nullptr);
    CHECK(error->code == "bad_request");
    CHECK_THAT(error->message, Catch::Contains("is 300 bytes long; at most 256"));
    CHECK(error->message.size() < 400);
    CHECK(bench.fixture.store().list_hosts().empty());

    request.zone = std::string(256, 'z');
    const auto enrolled =
        enroll_over_network(bench.server.enroll_address(), bench.fixture.ca_fingerprint(), request, 5s);
    REQUIRE(enrolled.answer.has_value());
    const auto* response = std::get_if<wire::EnrollResponse>(&*enrolled.answer);
    REQUIRE(response != nullptr);
    CHECK(response->zone == std::string(256, 'z'));
}

TEST_CASE(
    "an enrollment client that sends no complete request is dropped and counted, with nothing answered") {
    CaFixture fixture;
    MgmtServer server{fixture, "M1", {"--handshake-timeout", "2"}};
    const auto started = std::chrono::steady_clock::now();
    // TLS, then half a frame: the server waits for the rest, then gives up.
    const auto silent = send_to_enrollment_port(
        server.enroll_address(), fixture.ca_fingerprint(), std::string("\0\0\0\x10{", 5), 6s);
    const auto waited = std::chrono::steady_clock::now() - started;
    INFO(silent.transport_error);
    CHECK_FALSE(silent.answer.has_value());
    CHECK_THAT(silent.transport_error, Catch::StartsWith("read: "));
    CHECK(waited >= 1900ms);
    CHECK(waited < 5s);
    REQUIRE(
        wait_until([&] { return server.metric("agentlb_enrollments_total{result=\"timeout\"}") == 1; }, 2s));

    // A client that leaves first is counted as closed.
    const auto left = send_to_enrollment_port(
        server.enroll_address(), fixture.ca_fingerprint(), std::string("\0\0", 2), 500ms);
    CHECK_FALSE(left.answer.has_value());
    REQUIRE(
        wait_until([&] { return server.metric("agentlb_enrollments_total{result=\"closed\"}") == 1; }, 3s));
    const auto log = server.log();
    INFO(log);
    CHECK_THAT(log, Catch::Contains("abandoned: no request in time"));
    // The port keeps serving.
    wire::EnrollRequest request;
    request.token = fixture.create_token();
    request.name = "h1";
    request.csr = make_key_and_csr("h1").csr_pem;
    const auto good = enroll_over_network(server.enroll_address(), fixture.ca_fingerprint(), request);
    INFO(good.transport_error);
    REQUIRE(good.answer.has_value());
    CHECK(std::holds_alternative<wire::EnrollResponse>(*good.answer));
    CHECK(server.metric("agentlb_enrollments_total{result=\"ok\"}") == 1);
}
