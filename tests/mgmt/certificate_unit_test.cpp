// The pure parts of issue 16's server side: expiry warnings, the certificate
// settings a host's place gets, the renewal policy sent to agents, and the
// certificate metrics' text.

#include "mgmt/cluster_state.hpp"
#include "mgmt/metrics.hpp"
#include "mgmt/server_renewal.hpp"
#include "tests/support/net_probe.hpp"

#include <catch2/catch.hpp>

using namespace agentlb;
using namespace agentlb::mgmt;
using agentlb::test::metric_value;
using namespace std::chrono_literals;

TEST_CASE("expiry warnings: within the alert period, past it, and never with a period of 0") {
    const std::int64_t now = 1'800'000'000;
    CHECK(certificate_expiry_warnings(now + 20 * 86400, now + 3000 * 86400, 15 * 24h, now).empty());
    const auto soon = certificate_expiry_warnings(now + 10 * 86400, now + 3000 * 86400, 15 * 24h, now);
    REQUIRE(soon.size() == 1);
    CHECK(soon[0] == "this server's certificate expires on 2027-01-25T08:00:00Z");
    const auto both = certificate_expiry_warnings(now - 5, now + 86400, 15 * 24h, now);
    REQUIRE(both.size() == 2);
    CHECK_THAT(both[0], Catch::StartsWith("this server's certificate expired on "));
    CHECK_THAT(both[1], Catch::StartsWith("the CA certificate expires on "));
    CHECK(certificate_expiry_warnings(now - 5, now + 86400, 0s, now).empty());
}

TEST_CASE("a host's certificate settings come from its cluster, zone or the global values") {
    ClusterSnapshot snapshot = empty_snapshot();
    snapshot.certificates.agent_validity = 30 * 24h;
    snapshot.scoped.global = {{"ca.framework.cert.validity.period", "30d"}};
    snapshot.scoped.overrides[lb::ConfigScope{"east", ""}] = {{"ca.framework.cert.validity.period", "2h"},
                                                              {"agentlb.ca.key.type", "p384"}};
    snapshot.scoped.overrides[lb::ConfigScope{"east", "c1"}] = {{"agentlb.ca.cert.renewal.fraction", "0.5"}};
    snapshot.scoped.overrides[lb::ConfigScope{"west", ""}] = {{"agentlb.ca.key.type", "dsa"}};  // by hand

    CHECK(certificate_settings_at(snapshot, {}).agent_validity == 30 * 24h);
    CHECK(certificate_settings_at(snapshot, {"north", ""}).agent_validity == 30 * 24h);
    const auto east = certificate_settings_at(snapshot, {"east", ""});
    CHECK(east.agent_validity == 2h);
    CHECK(east.key_type == certs::KeyType::p384);
    CHECK(east.renewal_permille == 670);
    const auto c1 = certificate_settings_at(snapshot, {"east", "c1"});
    CHECK(c1.agent_validity == 2h);
    CHECK(c1.renewal_permille == 500);
    // A corrupt stored value: the global settings.
    CHECK(certificate_settings_at(snapshot, {"west", ""}).key_type == certs::KeyType::p256);

    CHECK(renewal_of(c1) == wire::Renewal{"p384", 500, true});
}

TEST_CASE("certificate metrics render with their types, the expiring count only once counted") {
    Metrics metrics;
    metrics.ca_not_after = 2'000'000'000;
    metrics.server_certificate_not_after = 1'900'000'000;
    metrics.count_renewal(RenewalKind::server, RenewalResult::ok);
    metrics.count_renewal(RenewalKind::agent, RenewalResult::refused);
    metrics.count_renewal(RenewalKind::agent, RenewalResult::refused);
    metrics.revocations_applied = 3;
    metrics.revoked_sessions_closed = 1;
    auto text = metrics.render();
    CHECK(metric_value(text, "agentlb_ca_not_after_seconds") == 2e9);
    CHECK(metric_value(text, "agentlb_server_certificate_not_after_seconds") == 1.9e9);
    CHECK(metric_value(text, "agentlb_certificate_renewals_total{kind=\"server\",result=\"ok\"}") == 1);
    CHECK(metric_value(text, "agentlb_certificate_renewals_total{kind=\"agent\",result=\"refused\"}") == 2);
    CHECK(metric_value(text, "agentlb_certificate_renewals_total{kind=\"agent\",result=\"failed\"}") == 0);
    CHECK(metric_value(text, "agentlb_certificate_revocations_applied_total") == 3);
    CHECK(metric_value(text, "agentlb_revoked_sessions_closed_total") == 1);
    CHECK(text.find("# TYPE agentlb_certificate_renewals_total counter") != std::string::npos);
    CHECK(text.find("agentlb_agent_certificates_expiring_30d") == std::string::npos);
    metrics.agent_certificates_expiring_30d = 4;
    text = metrics.render();
    CHECK(metric_value(text, "agentlb_agent_certificates_expiring_30d") == 4);
}
