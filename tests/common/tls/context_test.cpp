// Unit tests of the context factory: refusals of bad configuration, and the
// per-connection server name. No sockets.

#include "common/tls/context.hpp"

#include "common/tls/stream.hpp"
#include "tls_test_support.hpp"

#include <catch2/catch.hpp>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <string>

using namespace agentlb;
using namespace agentlb::tls;
using namespace agentlb::tls::test;

namespace {

std::string expected_ip(SSL* ssl) {
    certs::OpensslStringPtr ip(X509_VERIFY_PARAM_get1_ip_asc(SSL_get0_param(ssl)));
    return ip ? std::string(ip.get()) : std::string();
}

std::string expected_host(SSL* ssl) {
    const char* host = X509_VERIFY_PARAM_get0_host(SSL_get0_param(ssl), 0);
    return host != nullptr ? std::string(host) : std::string();
}

}  // namespace

TEST_CASE("agent port server context refuses bad certificates and keys with a reason") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    const KeyPair server = pki.server();

    SECTION("good configuration") {
        CHECK(make_agent_port_server_context({pki.ca_pem(), server.cert_pem, server.key_pem, nullptr}).ok());
    }
    SECTION("garbage certificate") {
        auto ctx = make_agent_port_server_context({pki.ca_pem(), "not a pem", server.key_pem, nullptr});
        REQUIRE_FALSE(ctx.ok());
        CHECK_THAT(ctx.error(), Catch::StartsWith("agent port: certificate: "));
    }
    SECTION("key of another certificate") {
        const KeyPair other = pki.server();
        auto ctx = make_agent_port_server_context({pki.ca_pem(), server.cert_pem, other.key_pem, nullptr});
        REQUIRE_FALSE(ctx.ok());
        CHECK(ctx.error() == "agent port: the private key does not belong to the certificate");
    }
    SECTION("agent certificate used as server certificate") {
        const KeyPair agent = pki.agent();
        auto ctx = make_agent_port_server_context({pki.ca_pem(), agent.cert_pem, agent.key_pem, nullptr});
        REQUIRE_FALSE(ctx.ok());
        CHECK_THAT(ctx.error(), Catch::Contains("lacks serverAuth"));
    }
    SECTION("CA that is not a CA") {
        auto ctx =
            make_agent_port_server_context({server.cert_pem, server.cert_pem, server.key_pem, nullptr});
        REQUIRE_FALSE(ctx.ok());
        CHECK_THAT(ctx.error(), Catch::StartsWith("agent port: CA certificate: "));
    }
}

TEST_CASE("contexts are TLS 1.3 only and release idle buffers") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    const KeyPair server = pki.server();
    const KeyPair agent = pki.agent();
    auto agent_server =
        make_agent_port_server_context({pki.ca_pem(), server.cert_pem, server.key_pem, nullptr});
    auto agent_client = make_agent_client_context({pki.ca_pem(), agent.cert_pem, agent.key_pem});
    auto enroll_server = make_enroll_server_context(server.cert_pem, server.key_pem, pki.ca_pem());
    auto enroll_client = make_enroll_client_context(pki.fingerprint());
    REQUIRE(agent_server.ok());
    REQUIRE(agent_client.ok());
    REQUIRE(enroll_server.ok());
    REQUIRE(enroll_client.ok());
    for (SSL_CTX* ctx :
         {agent_server->get(), agent_client->get(), enroll_server->get(), enroll_client->get()}) {
        CHECK(SSL_CTX_get_min_proto_version(ctx) == TLS1_3_VERSION);
        CHECK(SSL_CTX_get_max_proto_version(ctx) == TLS1_3_VERSION);
        CHECK((SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS) != 0);
        CHECK(SSL_CTX_get_read_ahead(ctx) == 1);
        CHECK((SSL_CTX_get_options(ctx) & SSL_OP_NO_COMPRESSION) != 0);
        CHECK((SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION) != 0);
    }
    CHECK(SSL_CTX_get_verify_mode(agent_server->get()) ==
          (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT));
    // The agent never resumes: no ticket is worth its CPU by default.
    CHECK(SSL_CTX_get_num_tickets(agent_server->get()) == 0);
    auto resuming_server =
        make_agent_port_server_context({pki.ca_pem(), server.cert_pem, server.key_pem, nullptr, 1});
    REQUIRE(resuming_server.ok());
    CHECK(SSL_CTX_get_num_tickets(resuming_server->get()) == 1);
    CHECK((SSL_CTX_get_options(resuming_server->get()) & SSL_OP_NO_TICKET) == 0);
    CHECK(SSL_CTX_get_verify_mode(enroll_server->get()) == SSL_VERIFY_NONE);
    // The enrollment server sends the CA after the leaf.
    STACK_OF(X509)* chain = nullptr;
    REQUIRE(SSL_CTX_get0_chain_certs(enroll_server->get(), &chain) == 1);
    REQUIRE(chain != nullptr);
    CHECK(sk_X509_num(chain) == 1);
}

TEST_CASE("agent client context refuses a missing key or CA with a reason") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    const KeyPair agent = pki.agent();
    auto ok = make_agent_client_context({pki.ca_pem(), agent.cert_pem, agent.key_pem});
    CHECK(ok.ok());
    auto no_key = make_agent_client_context({pki.ca_pem(), agent.cert_pem, ""});
    REQUIRE_FALSE(no_key.ok());
    CHECK_THAT(no_key.error(), Catch::StartsWith("agent client: private key: "));
    auto no_ca = make_agent_client_context({"", agent.cert_pem, agent.key_pem});
    REQUIRE_FALSE(no_ca.ok());
    CHECK_THAT(no_ca.error(), Catch::StartsWith("agent client: CA certificate: "));
}

TEST_CASE("enrollment client context refuses a malformed pin") {
    auto ctx = make_enroll_client_context("sha256:1234");
    REQUIRE_FALSE(ctx.ok());
    CHECK_THAT(ctx.error(), Catch::StartsWith("pinned CA fingerprint: "));
}

TEST_CASE("the expected server is a name or an address, port stripped") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    const KeyPair agent = pki.agent();
    auto ctx = make_agent_client_context({pki.ca_pem(), agent.cert_pem, agent.key_pem});
    REQUIRE(ctx.ok());
    SslPtr ssl(SSL_new(ctx->get()));
    REQUIRE(ssl);

    SECTION("IPv4 with port") {
        REQUIRE(set_expected_server(ssl.get(), "10.0.0.1:8250").ok());
        CHECK(expected_ip(ssl.get()) == "10.0.0.1");
        CHECK(expected_host(ssl.get()).empty());
    }
    SECTION("IPv6 in brackets with port") {
        REQUIRE(set_expected_server(ssl.get(), "[::1]:8250").ok());
        CHECK(expected_ip(ssl.get()) == "0:0:0:0:0:0:0:1");
    }
    SECTION("bare IPv6") {
        REQUIRE(set_expected_server(ssl.get(), "fe80::2").ok());
        CHECK(expected_ip(ssl.get()) == "FE80:0:0:0:0:0:0:2");
    }
    SECTION("name with port, also sent as SNI") {
        REQUIRE(set_expected_server(ssl.get(), "ms1.example:8250").ok());
        CHECK(expected_host(ssl.get()) == "ms1.example");
        CHECK(std::string(SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name)) == "ms1.example");
        CHECK(expected_ip(ssl.get()).empty());
    }
    SECTION("refusals") {
        CHECK_FALSE(set_expected_server(ssl.get(), "").ok());
        CHECK_FALSE(set_expected_server(ssl.get(), "[::1").ok());
        CHECK_FALSE(set_expected_server(ssl.get(), "[::1]x").ok());
        CHECK_FALSE(set_expected_server(ssl.get(), "ms1:port").ok());
        CHECK_FALSE(set_expected_server(ssl.get(), ":8250").ok());
    }
    CHECK(describe_verify_failure(ssl.get()).empty());
    CHECK_FALSE(peer_certificate(ssl.get()));
}
