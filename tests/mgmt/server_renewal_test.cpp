// A management server's own certificate (issue 16): renewed while it runs at
// the configured fraction of a short validity with agents connected (none
// dropped, new ones get the new certificate), renewed at once when its
// serial is revoked, and the expiry warnings.

#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "common/util/clock.hpp"
#include "common/util/text.hpp"
#include "tests/mgmt/integration_helpers.hpp"
#include "tests/support/log_lines.hpp"
#include "tests/support/net_probe.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

std::string own_serial(const MgmtServer& server) {
    const auto status = server.status();
    return status.is_object() ? status["server"]["certificate"]["serial"].get<std::string>() : std::string();
}

std::string file_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_CASE(
    "a server renews its short-lived certificate while running: no session dropped, new agents get it") {
    CaFixture fixture;
    // 60 s, renewed at a fifth: about 7 s after it was issued (backdated 6 s).
    fixture.set_config("agentlb.ca.server.cert.validity.period", "60s");
    fixture.set_config("agentlb.ca.cert.renewal.fraction", "0.2");
    MgmtServer server(fixture, "M1");
    fixture.set_config("host", server.address());
    REQUIRE(wait_synced(fixture, server));

    const std::string first_serial = own_serial(server);
    REQUIRE_FALSE(first_serial.empty());
    const auto crt_path = fixture.dir() / "state-M1" / "M1.crt";
    const auto key_path = fixture.dir() / "state-M1" / "M1.key";
    auto first_cert = certs::load_certificate_file(crt_path);
    REQUIRE(first_cert.ok());
    CHECK(certs::serial_of(first_cert->get()) == first_serial);
    CHECK(certs::not_after_of(first_cert->get()) <= util::unix_now() + 60);

    std::vector<std::unique_ptr<TestAgent>> agents;
    for (int i = 0; i < 5; ++i) {
        auto identity = fixture.enroll("h" + std::to_string(i));
        agents.push_back(connect_agent(fixture, identity, server));
        CHECK(agents.back()->server_serial() == first_serial);
    }
    const auto connected_before = server.status()["agents"];
    REQUIRE(connected_before.size() == 5);

    std::string renewed_serial;
    const bool renewed = wait_until(
        [&] {
            renewed_serial = own_serial(server);
            return !renewed_serial.empty() && renewed_serial != first_serial;
        },
        15s,
        100ms);
    INFO(server.log());
    REQUIRE(renewed);

    // Every session is still the one it was: same sessions, each answering.
    for (auto& agent : agents) {
        CHECK(agent->ping());
    }
    const auto connected_after = server.status()["agents"];
    CHECK(connected_after == connected_before);
    CHECK(lines_containing(server.log(),
                           "renewed this server's certificate (its renewal point has passed)") >= 1);

    // The files hold the new pair, the key readable by its owner only.
    auto second_cert = certs::load_certificate_file(crt_path);
    REQUIRE(second_cert.ok());
    const std::string file_serial = certs::serial_of(second_cert->get());
    CHECK(file_serial != first_serial);
    struct stat key_stat {};
    REQUIRE(::stat(key_path.c_str(), &key_stat) == 0);
    CHECK((key_stat.st_mode & 0777) == 0600);

    // A new agent is served with a renewed certificate (this one, or a later
    // renewal's if one happened meanwhile: the point comes every few seconds).
    auto newcomer_identity = fixture.enroll("h9");
    auto newcomer = connect_agent(fixture, newcomer_identity, server);
    CHECK(newcomer->server_serial() != first_serial);
    CHECK(newcomer->ping());

    CHECK(server.metric("agentlb_certificate_renewals_total{kind=\"server\",result=\"ok\"}") >= 1);
    CHECK(server.metric("agentlb_certificate_renewals_total{kind=\"server\",result=\"failed\"}") == 0);
    CHECK(server.metric("agentlb_server_certificate_not_after_seconds") > 0);
    CHECK(server.metric("agentlb_server_certificate_not_after_seconds") <=
          static_cast<double>(util::unix_now() + 60));
    CHECK(server.metric("agentlb_ca_not_after_seconds") ==
          static_cast<double>(certs::not_after_of(fixture.ca().certificate())));

    // The whole exposition, as Prometheus reads it.
    if (std::system("command -v promtool > /dev/null 2>&1") == 0) {
        const auto scraped = fixture.dir() / "metrics.txt";
        {
            std::ofstream out(scraped);
            out << server.metrics();
        }
        const auto report = fixture.dir() / "promtool.txt";
        const auto command =
            "promtool check metrics < '" + scraped.string() + "' > '" + report.string() + "' 2>&1";
        const int rc = std::system(command.c_str());
        INFO(file_text(report));
        CHECK(rc == 0);
        CHECK(file_text(report).empty());
    } else {
        WARN("promtool not installed: the exposition format is not checked");
    }
}

TEST_CASE("a server whose own serial is revoked renews at once, keeping its sessions") {
    CaFixture fixture;
    MgmtServer server(fixture, "M1");
    fixture.set_config("host", server.address());
    REQUIRE(wait_synced(fixture, server));
    auto identity = fixture.enroll("h1");
    auto agent = connect_agent(fixture, identity, server);
    const std::string first_serial = own_serial(server);
    REQUIRE_FALSE(first_serial.empty());

    // The server recorded its certificate at start: revoke it as an operator would.
    auto revoked = fixture.store().revoke_certificate(first_serial, util::unix_now());
    REQUIRE(revoked.ok());
    CHECK(revoked->kind == store::kCertificateServer);

    std::string serial;
    const bool renewed = wait_until(
        [&] {
            serial = own_serial(server);
            return !serial.empty() && serial != first_serial;
        },
        5s,
        100ms);
    INFO(server.log());
    REQUIRE(renewed);
    CHECK(lines_containing(server.log(), "renewed this server's certificate (its serial is revoked)") == 1);
    CHECK(agent->ping());
    // Default validity: a year.
    auto renewed_cert = certs::load_certificate_file(fixture.dir() / "state-M1" / "M1.crt");
    REQUIRE(renewed_cert.ok());
    CHECK(certs::not_after_of(renewed_cert->get()) > util::unix_now() + 364 * 86400);
    auto second = connect_agent(fixture, fixture.enroll("h2"), server);
    CHECK(second->server_serial() == serial);

    // The renewed certificate is recorded too (agentlbctl cert list), the revoked one stays revoked.
    store::CertificateFilter filter;
    filter.host = "M1";
    std::vector<store::CertificateRecord> records;
    CHECK(wait_until(
        [&] {
            records = fixture.store().list_certificates(filter);
            return records.size() == 2;
        },
        3s));
    REQUIRE(records.size() == 2);
    CHECK(records[0].serial == first_serial);
    CHECK(records[0].revoked);
    CHECK(records[1].serial == serial);
    CHECK_FALSE(records[1].revoked);
    CHECK(records[1].kind == store::kCertificateServer);
    CHECK(server.metric("agentlb_certificate_revocations_applied_total") >= 1);
}

TEST_CASE("the count of agent certificates expiring within 30 days is exported") {
    CaFixture fixture;
    fixture.enroll("long-lived");  // a year
    const auto soon = fixture.enroll("short-lived");
    MintOptions options;
    options.not_after = std::chrono::system_clock::now() + std::chrono::hours(24 * 10);
    const auto expiring = fixture.mint("short-lived", options);
    fixture.store().record_certificate(
        soon.host_id,
        store::IssuedCertificate{expiring.cert_pem, expiring.serial, util::unix_now() + 10 * 86400});
    MgmtServer server(fixture, "M1");
    CHECK(wait_until([&] { return server.metric("agentlb_agent_certificates_expiring_30d") == 1; }, 5s));
    CHECK(server.metrics().find("# TYPE agentlb_agent_certificates_expiring_30d gauge") != std::string::npos);
}

TEST_CASE("a server warns when its certificate or the CA expires within the alert period") {
    CaFixture fixture;
    // The CA lives ten years and the server's certificate one: both within 3650 days.
    fixture.set_config("ca.framework.cert.expiry.alert.period", "3650d");
    MgmtServer server(fixture, "M1");
    fixture.set_config("host", server.address());
    REQUIRE(wait_synced(fixture, server));

    REQUIRE(wait_until(
        [&] { return http_get(server.admin_port(), "/healthz").body.find("warning: ") != std::string::npos; },
        5s));
    const auto health = http_get(server.admin_port(), "/healthz");
    CHECK(health.status == 200);
    CHECK_THAT(health.body, Catch::StartsWith("ok\n"));
    CHECK_THAT(health.body, Catch::Contains("warning: this server's certificate expires on "));
    CHECK_THAT(health.body, Catch::Contains("warning: the CA certificate expires on "));
    const auto warnings = server.status()["server"]["certificate"]["warnings"];
    REQUIRE(warnings.size() == 2);
    CHECK_THAT(warnings[0].get<std::string>(), Catch::StartsWith("this server's certificate expires on "));

    // The log says it once, not at every check.
    std::this_thread::sleep_for(2500ms);
    CHECK(lines_containing(server.log(), "this server's certificate expires on") == 1);
    CHECK(lines_containing(server.log(), "the CA certificate expires on") == 1);

    // Period 0: no warning.
    fixture.set_config("ca.framework.cert.expiry.alert.period", "0");
    REQUIRE(wait_until([&] { return http_get(server.admin_port(), "/healthz").body == "ok\n"; }, 5s));
    CHECK(server.status()["server"]["certificate"]["warnings"].empty());
}

TEST_CASE("without a warning /healthz says ok alone") {
    CaFixture fixture;
    MgmtServer server(fixture, "M1");
    std::this_thread::sleep_for(1500ms);  // a renewal check has run
    CHECK(http_get(server.admin_port(), "/healthz").body == "ok\n");
    CHECK(server.status()["server"]["certificate"]["warnings"].empty());
}

TEST_CASE("an agent enrolled in a zone gets that zone's certificate validity") {
    CaFixture fixture;
    fixture.set_config("ca.framework.cert.validity.period", "30d");
    REQUIRE(fixture.store().set_scoped_config({"east", ""}, "ca.framework.cert.validity.period", "3h").ok());
    MgmtServer server(fixture, "M1");
    fixture.set_config("host", server.address());
    REQUIRE(wait_synced(fixture, server));

    for (const auto& [zone, seconds] : {std::pair<std::string, std::int64_t>{"east", 3 * 3600},
                                        std::pair<std::string, std::int64_t>{"west", 30 * 86400}}) {
        INFO(zone);
        wire::EnrollRequest request;
        request.token = fixture.create_token(zone);
        request.name = "h-" + zone;
        request.csr = make_key_and_csr(request.name).csr_pem;
        const auto outcome = enroll_over_network(server.enroll_address(), fixture.ca_fingerprint(), request);
        INFO(outcome.transport_error);
        REQUIRE(outcome.answer.has_value());
        const auto* enrolled = std::get_if<wire::EnrollResponse>(&*outcome.answer);
        REQUIRE(enrolled != nullptr);
        auto cert = certs::parse_certificate_pem(enrolled->certificate);
        REQUIRE(cert.ok());
        const auto left = certs::not_after_of(cert->get()) - util::unix_now();
        CHECK(left > seconds - 60);
        CHECK(left <= seconds);
    }
}
