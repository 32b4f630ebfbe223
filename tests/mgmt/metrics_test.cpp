#include "mgmt/metrics.hpp"

#include "mgmt/handshake_refusal.hpp"
#include "mgmt/peer_address.hpp"
#include "tests/support/net_probe.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/error.hpp>

#include <catch2/catch.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

using namespace agentlb::mgmt;
using agentlb::test::metric_value;

TEST_CASE("metrics render in Prometheus text format with every documented family") {
    Metrics metrics;
    metrics.agents_connected = 3;
    metrics.pushes_sent = 10;
    metrics.pushes_acked = 7;
    metrics.pushes_unacked = 2;
    metrics.pushes_unanswered = 4;
    metrics.count_handshake("ok", HandshakeKind::full);
    metrics.count_handshake("ok", HandshakeKind::resumed);
    metrics.count_handshake("no_certificate", HandshakeKind::full);
    metrics.count_enrollment("refused");
    const auto text = metrics.render();

    CHECK(metric_value(text, "agentlb_agents_connected") == 3.0);
    CHECK(metric_value(text, "agentlb_handshakes_total{result=\"ok\"}") == 2.0);
    CHECK(metric_value(text, "agentlb_handshakes_total{result=\"no_certificate\"}") == 1.0);
    // Each result by TLS handshake kind; a refused one counts as full.
    CHECK(metric_value(text, "agentlb_handshakes_total{result=\"ok\",kind=\"full\"}") == 1.0);
    CHECK(metric_value(text, "agentlb_handshakes_total{result=\"ok\",kind=\"resumed\"}") == 1.0);
    CHECK(metric_value(text, "agentlb_handshakes_total{kind=\"full\"}") == 2.0);
    CHECK(metric_value(text, "agentlb_handshakes_total{result=\"no_certificate\",kind=\"resumed\"}") == 0.0);
    CHECK(metric_value(text, "agentlb_pushes_sent_total") == 10.0);
    CHECK(metric_value(text, "agentlb_session_tickets_sent_total") == 0.0);
    CHECK(metric_value(text, "agentlb_pushes_acked_total") == 7.0);
    CHECK(metric_value(text, "agentlb_pushes_unacked") == 2.0);
    CHECK(metric_value(text, "agentlb_pushes_unanswered_total") == 4.0);
    CHECK(metric_value(text, "agentlb_store_change_lag_seconds") == 0.0);
    CHECK(metric_value(text, "agentlb_enrollments_total{result=\"refused\"}") == 1.0);
    // "ok" is always present so dashboards see the series from the start.
    CHECK(metric_value(text, "agentlb_enrollments_total{result=\"ok\"}") == 0.0);
    CHECK(metric_value(text, "agentlb_enrollments_total{result=\"rate_limited\"}") == 0.0);
    CHECK_THAT(text, Catch::Contains("# TYPE agentlb_push_latency_seconds histogram"));
    CHECK(metrics.handshakes("ok") == 2);
    CHECK(metrics.enrollments("missing") == 0);
}

TEST_CASE("the change feed's metrics appear only with a feed (PostgreSQL)") {
    Metrics metrics;
    CHECK_THAT(metrics.render(), !Catch::Contains("agentlb_store_change_feed_up"));
    CHECK_THAT(metrics.render(), !Catch::Contains("agentlb_store_notifications_total"));
    metrics.change_feed_state = 1;
    metrics.store_notifications = 5;
    auto text = metrics.render();
    CHECK(metric_value(text, "agentlb_store_change_feed_up") == 1.0);
    CHECK(metric_value(text, "agentlb_store_notifications_total") == 5.0);
    metrics.change_feed_state = 0;
    text = metrics.render();
    CHECK(metric_value(text, "agentlb_store_change_feed_up") == 0.0);
}

TEST_CASE("the push latency histogram is cumulative") {
    Metrics metrics;
    metrics.push_latency.observe(0.0005);
    metrics.push_latency.observe(0.02);
    metrics.push_latency.observe(0.02);
    metrics.push_latency.observe(60);
    const auto text = metrics.render();
    CHECK(metric_value(text, "agentlb_push_latency_seconds_bucket{le=\"0.001\"}") == 1.0);
    CHECK(metric_value(text, "agentlb_push_latency_seconds_bucket{le=\"0.025\"}") == 3.0);
    CHECK(metric_value(text, "agentlb_push_latency_seconds_bucket{le=\"10\"}") == 3.0);
    CHECK(metric_value(text, "agentlb_push_latency_seconds_bucket{le=\"+Inf\"}") == 4.0);
    CHECK(metric_value(text, "agentlb_push_latency_seconds_count") == 4.0);
    CHECK(metric_value(text, "agentlb_push_latency_seconds_sum").value_or(0) == Approx(60.0405).margin(1e-4));
}

TEST_CASE("label values are escaped") {
    CHECK(escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
}

TEST_CASE("a socket without a remote end is logged as an unknown peer") {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket unopened(io);
    CHECK(peer_address(unopened) == "unknown peer");
}

TEST_CASE("handshake failures map to short stable reasons") {
    using boost::system::error_code;
    const auto ssl_error = [](int reason) {
        return error_code(static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)),
                          boost::asio::error::get_ssl_category());
    };
    CHECK(classify_handshake_failure(error_code(boost::asio::error::operation_aborted), X509_V_OK, true) ==
          "timeout");
    CHECK(classify_handshake_failure(ssl_error(SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE), X509_V_OK, false) ==
          "no_certificate");
    CHECK(classify_handshake_failure(
              ssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED), X509_V_ERR_CERT_HAS_EXPIRED, false) == "expired");
    CHECK(classify_handshake_failure(ssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED),
                                     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                                     false) == "unknown_ca");
    CHECK(classify_handshake_failure(
              ssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED), X509_V_ERR_CERT_REVOKED, false) == "revoked");
    CHECK(classify_handshake_failure(ssl_error(SSL_R_UNSUPPORTED_PROTOCOL), X509_V_OK, false) ==
          "tls_version");
    CHECK(classify_handshake_failure(ssl_error(SSL_R_WRONG_VERSION_NUMBER), X509_V_OK, false) == "not_tls");
    CHECK(classify_handshake_failure(ssl_error(SSL_R_HTTP_REQUEST), X509_V_OK, false) == "not_tls");
    CHECK(classify_handshake_failure(error_code(boost::asio::error::eof), X509_V_OK, false) == "closed");
    CHECK(classify_handshake_failure(ssl_error(SSL_R_BAD_SIGNATURE), X509_V_OK, false) == "tls_error");
}

TEST_CASE("the server's state is one-hot over the four states, and migrations count by reason") {
    Metrics metrics;
    auto text = metrics.render();
    CHECK(metric_value(text, "agentlb_server_state{state=\"up\"}") == 1.0);
    CHECK(metric_value(text, "agentlb_server_state{state=\"preparing\"}") == 0.0);
    CHECK(metric_value(text, "agentlb_server_state{state=\"maintenance\"}") == 0.0);
    CHECK(metric_value(text, "agentlb_server_state{state=\"down\"}") == 0.0);
    for (const auto reason : {"maintenance", "shutdown", "rebalance", "store_outage"}) {
        CHECK(metric_value(text, std::string("agentlb_migrations_sent_total{reason=\"") + reason + "\"}") ==
              0.0);
    }

    metrics.set_server_state("preparing");
    metrics.count_migrations(MigrationReason::maintenance, 10);
    metrics.count_migrations(MigrationReason::store_outage, 2);
    text = metrics.render();
    CHECK(metric_value(text, "agentlb_server_state{state=\"up\"}") == 0.0);
    CHECK(metric_value(text, "agentlb_server_state{state=\"preparing\"}") == 1.0);
    CHECK(metric_value(text, "agentlb_migrations_sent_total{reason=\"maintenance\"}") == 10.0);
    CHECK(metric_value(text, "agentlb_migrations_sent_total{reason=\"store_outage\"}") == 2.0);
    CHECK(metric_value(text, "agentlb_migrations_sent_total{reason=\"shutdown\"}") == 0.0);

    metrics.set_server_state("maintenance");
    CHECK(metric_value(metrics.render(), "agentlb_server_state{state=\"maintenance\"}") == 1.0);
    metrics.set_server_state("nonsense");
    CHECK(metric_value(metrics.render(), "agentlb_server_state{state=\"down\"}") == 1.0);
}

TEST_CASE("ticket key rotations are counted from 0") {
    Metrics metrics;
    CHECK(metric_value(metrics.render(), "agentlb_ticket_key_rotations_total") == 0.0);
    CHECK_THAT(metrics.render(), Catch::Contains("# TYPE agentlb_ticket_key_rotations_total counter"));
    metrics.ticket_key_rotations.fetch_add(2);
    CHECK(metric_value(metrics.render(), "agentlb_ticket_key_rotations_total") == 2.0);
}
