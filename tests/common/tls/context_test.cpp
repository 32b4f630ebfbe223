// Unit tests of the context factory: refusals of bad configuration, and the
// per-connection server name. No sockets.

#include "common/tls/context.hpp"

#include "certs/fingerprint.hpp"
#include "common/tls/stream.hpp"
#include "tls_test_support.hpp"

#include <catch2/catch.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <string>
#include <vector>

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

// A full handshake through a BIO pair, no sockets. Returns the client's and
// the server's session, or fails the test when the handshake stalls.
struct MemoryHandshake {
    SslPtr client;
    SslPtr server;
    bool client_ok = false;
    bool server_ok = false;
};

MemoryHandshake handshake_in_memory(SSL_CTX* server_ctx, SSL_CTX* client_ctx) {
    MemoryHandshake result{SslPtr(SSL_new(client_ctx)), SslPtr(SSL_new(server_ctx))};
    BIO* client_bio = nullptr;
    BIO* server_bio = nullptr;
    REQUIRE(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) == 1);
    SSL_set_bio(result.client.get(), client_bio, client_bio);
    SSL_set_bio(result.server.get(), server_bio, server_bio);
    SSL_set_connect_state(result.client.get());
    SSL_set_accept_state(result.server.get());
    REQUIRE(set_expected_server(result.client.get(), "127.0.0.1").ok());
    bool client_failed = false;
    bool server_failed = false;
    // TLS 1.3: the server verifies the client certificate on its second
    // flight, after the client already finished: run both until each settled.
    for (int round = 0; round < 20; ++round) {
        if (!result.client_ok && !client_failed) {
            const int r = SSL_do_handshake(result.client.get());
            result.client_ok = r == 1;
            client_failed = r <= 0 && SSL_get_error(result.client.get(), r) != SSL_ERROR_WANT_READ;
        }
        if (!result.server_ok && !server_failed) {
            const int r = SSL_do_handshake(result.server.get());
            result.server_ok = r == 1;
            server_failed = r <= 0 && SSL_get_error(result.server.get(), r) != SSL_ERROR_WANT_READ;
        }
        if ((result.client_ok || client_failed) && (result.server_ok || server_failed)) {
            break;
        }
    }
    ERR_clear_error();
    return result;
}

std::vector<std::string> fingerprints(STACK_OF(X509) * chain) {
    std::vector<std::string> out;
    for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
        out.push_back(certs::fingerprint_of(sk_X509_value(chain, i)));
    }
    return out;
}

}  // namespace

TEST_CASE("agent port contexts trust a bundle of CAs: agents and servers of each CA are accepted") {
    TempDir dir;
    TestPki old_pki(dir.path(), "old");
    TestPki new_pki(dir.path(), "new");
    TestPki stranger(dir.path(), "stranger");
    const std::string bundle = old_pki.ca_pem() + new_pki.ca_pem();
    const KeyPair server = new_pki.server();
    auto server_ctx = make_agent_port_server_context({bundle, server.cert_pem, server.key_pem, nullptr});
    REQUIRE(server_ctx.ok());
    for (const TestPki* pki : {&old_pki, &new_pki}) {
        const KeyPair agent = pki->agent();
        auto client_ctx = make_agent_client_context({bundle, agent.cert_pem, agent.key_pem});
        REQUIRE(client_ctx.ok());
        MemoryHandshake done = handshake_in_memory(server_ctx->get(), client_ctx->get());
        CHECK(done.client_ok);
        CHECK(done.server_ok);
    }
    const KeyPair foreign = stranger.agent();
    auto foreign_ctx =
        make_agent_client_context({bundle + stranger.ca_pem(), foreign.cert_pem, foreign.key_pem});
    REQUIRE(foreign_ctx.ok());
    MemoryHandshake refused = handshake_in_memory(server_ctx->get(), foreign_ctx->get());
    CHECK_FALSE(refused.server_ok);
}

TEST_CASE("the peer link takes server certificates at both ends and refuses an agent's or a revoked one") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    const KeyPair ms1 = pki.server();
    const KeyPair ms2 = pki.issue(certs::CertificateKind::server, "ms2", {}, {"127.0.0.1"});
    auto revoked = std::make_shared<certs::RevocationList>();
    auto listening = make_peer_server_context({pki.ca_pem(), ms1.cert_pem, ms1.key_pem, {}, revoked});
    REQUIRE(listening.ok());
    auto dialling = make_peer_client_context({pki.ca_pem(), ms2.cert_pem, ms2.key_pem});
    REQUIRE(dialling.ok());
    MemoryHandshake done = handshake_in_memory(listening->get(), dialling->get());
    CHECK(done.client_ok);
    CHECK(done.server_ok);

    // An agent dialling the peer link with its own certificate.
    const KeyPair agent = pki.agent();
    auto agent_ctx = make_agent_client_context({pki.ca_pem(), agent.cert_pem, agent.key_pem});
    REQUIRE(agent_ctx.ok());
    MemoryHandshake intruder = handshake_in_memory(listening->get(), agent_ctx->get());
    CHECK_FALSE(intruder.server_ok);
    CHECK(describe_verify_failure(intruder.server.get()) ==
          "client certificate is not valid for server authentication");

    // An agent's certificate cannot be either end of it.
    auto as_server = make_peer_server_context({pki.ca_pem(), agent.cert_pem, agent.key_pem});
    REQUIRE_FALSE(as_server.ok());
    CHECK(as_server.error().rfind("peer link: ", 0) == 0);
    REQUIRE_FALSE(make_peer_client_context({pki.ca_pem(), agent.cert_pem, agent.key_pem}).ok());

    // A server whose certificate was revoked.
    revoked->add(ms2.serial);
    MemoryHandshake refused = handshake_in_memory(listening->get(), dialling->get());
    CHECK_FALSE(refused.server_ok);
    CHECK(describe_verify_failure(refused.server.get()) ==
          "client certificate revoked (serial " + ms2.serial + ")");
}

TEST_CASE("chain_pem is sent after the leaf by the agent port server, the agent and the enrollment port") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    TestPki extra(dir.path(), "extra");  // stands for an intermediate or a cross-signed CA
    const KeyPair server = pki.server();
    const KeyPair agent = pki.agent();
    auto server_ctx = make_agent_port_server_context(
        {pki.ca_pem(), server.cert_pem, server.key_pem, nullptr, 0, extra.ca_pem()});
    REQUIRE(server_ctx.ok());
    auto client_ctx =
        make_agent_client_context({pki.ca_pem(), agent.cert_pem, agent.key_pem, extra.ca_pem()});
    REQUIRE(client_ctx.ok());
    MemoryHandshake done = handshake_in_memory(server_ctx->get(), client_ctx->get());
    REQUIRE(done.client_ok);
    REQUIRE(done.server_ok);
    // The client's view holds the leaf first; the server's holds only what came after it.
    const auto from_server = fingerprints(SSL_get_peer_cert_chain(done.client.get()));
    REQUIRE(from_server.size() == 2);
    CHECK(from_server[1] == extra.fingerprint());
    const auto from_agent = fingerprints(SSL_get_peer_cert_chain(done.server.get()));
    REQUIRE(from_agent.size() == 1);
    CHECK(from_agent[0] == extra.fingerprint());

    auto enroll = make_enroll_server_context(server.cert_pem, server.key_pem, pki.ca_pem(), extra.ca_pem());
    REQUIRE(enroll.ok());
    STACK_OF(X509)* chain = nullptr;
    REQUIRE(SSL_CTX_get0_chain_certs(enroll->get(), &chain) == 1);
    const auto sent = fingerprints(chain);
    REQUIRE(sent.size() == 2);
    CHECK(sent[0] == extra.fingerprint());
    CHECK(sent[1] == pki.fingerprint());

    auto bad = make_agent_client_context({pki.ca_pem(), agent.cert_pem, agent.key_pem, "garbage"});
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error(), Catch::StartsWith("agent client: chain: "));
}

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
