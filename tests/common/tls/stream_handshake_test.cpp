// Integration tests of the TlsStream handshake with the agent-port and
// enrollment contexts: who is accepted, who is refused and why. Real sockets on 127.0.0.1, certificates made
// at test time with certs/.

#include "certs/pem.hpp"
#include "certs/revocation.hpp"
#include "certs/verify.hpp"
#include "common/tls/context.hpp"
#include "common/tls/stream.hpp"
#include "stream_test_helpers.hpp"
#include "tls_test_support.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <memory>
#include <string>

using namespace agentlb;
using namespace agentlb::tls;
using namespace agentlb::tls::test;

using tcp = asio::ip::tcp;

namespace {

// A client context made by hand: trusts our CA, optionally presents a
// certificate, optionally capped at a TLS version.
SslCtxPtr manual_client_context(const TestPki& pki, const KeyPair* identity, int max_version) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    REQUIRE(ctx);
    auto store = certs::make_ca_store(pki.ca_pem());
    REQUIRE(store.ok());
    SSL_CTX_set_cert_store(ctx.get(), store->release());
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (max_version != 0) {
        REQUIRE(SSL_CTX_set_max_proto_version(ctx.get(), max_version) == 1);
    }
    if (identity != nullptr) {
        auto cert = certs::parse_certificate_pem(identity->cert_pem);
        auto key = certs::parse_private_key_pem(identity->key_pem);
        REQUIRE(cert.ok());
        REQUIRE(key.ok());
        REQUIRE(SSL_CTX_use_certificate(ctx.get(), cert->get()) == 1);
        REQUIRE(SSL_CTX_use_PrivateKey(ctx.get(), key->get()) == 1);
    }
    return ctx;
}

struct HandshakeOutcome {
    error_code server_ec;
    std::string server_detail;
    error_code client_ec;
    std::string client_detail;
    // The client's first read after its handshake (TLS 1.3: a refused client
    // certificate only shows up here).
    error_code client_read_ec;
    std::string server_peer_cn;
};

// One connection: server handshake (then one byte "!" on success), client
// handshake then one read.
HandshakeOutcome connect_once(SSL_CTX* server_ctx,
                              SSL_CTX* client_ctx,
                              const std::string& expected_server = {}) {
    HandshakeOutcome outcome;
    run_connection(
        [&](tcp::socket socket) -> awaitable<void> {
            TlsStream stream(std::move(socket), server_ctx, Role::server);
            outcome.server_ec = co_await stream.handshake();
            outcome.server_detail = stream.last_error_detail();
            if (!outcome.server_ec) {
                outcome.server_peer_cn = peer_common_name(stream.native_handle());
                const error_code ec = co_await stream.write_all("!", 1);
                REQUIRE_FALSE(ec);
                co_await stream.shutdown();
            }
            stream.close();
        },
        [&](tcp::socket socket, std::uint16_t port) -> awaitable<void> {
            TlsStream stream(std::move(socket),
                             client_ctx,
                             Role::client,
                             expected_server.empty() ? dialled(port) : expected_server);
            outcome.client_ec = co_await stream.handshake();
            outcome.client_detail = stream.last_error_detail();
            if (!outcome.client_ec) {
                char byte = 0;
                co_await stream.read_some(&byte, 1, outcome.client_read_ec);
                if (outcome.client_read_ec) {
                    outcome.client_detail = stream.last_error_detail();
                }
            }
            stream.close();
        });
    return outcome;
}

}  // namespace

TEST_CASE_METHOD(PkiFixture, "a name in the server's certificate can be expected instead of the dialled IP") {
    const auto outcome = connect_once(server_ctx.get(), client_ctx.get(), "ms1.test:8250");
    CHECK_FALSE(outcome.server_ec);
    CHECK_FALSE(outcome.client_ec);
    CHECK_FALSE(outcome.client_read_ec);
}

TEST_CASE("the server refuses a client without a certificate") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    auto server_ctx = server_context(pki, pki.server());
    auto client_ctx = manual_client_context(pki, nullptr, 0);
    const auto outcome = connect_once(server_ctx.get(), client_ctx.get());
    CHECK(ssl_reason(outcome.server_ec) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE);
    CHECK(outcome.server_detail == "peer did not return a certificate");
    // TLS 1.3: the client's handshake completes before the server has looked
    // at its (missing) certificate; the refusal arrives at its first read.
    CHECK_FALSE(outcome.client_ec);
    CHECK(outcome.client_read_ec);
    CHECK(outcome.client_read_ec != asio::error::eof);
    CHECK(ssl_reason(outcome.client_read_ec) == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED);
}

TEST_CASE("the server refuses a client certificate from another CA") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    TestPki other(dir.path(), "other");
    auto server_ctx = server_context(pki, pki.server());
    const KeyPair stranger = other.agent("stranger");
    auto client_ctx = make_agent_client_context({pki.ca_pem(), stranger.cert_pem, stranger.key_pem});
    REQUIRE(client_ctx.ok());
    const auto outcome = connect_once(server_ctx.get(), client_ctx->get());
    CHECK(ssl_reason(outcome.server_ec) == SSL_R_CERTIFICATE_VERIFY_FAILED);
    CHECK_THAT(outcome.server_detail,
               Catch::Contains("certificate verify failed: unable to get local issuer"));
    CHECK_FALSE(outcome.client_ec);
    CHECK(outcome.client_read_ec);
    CHECK(outcome.client_read_ec != asio::error::eof);
}

TEST_CASE("the server refuses a revoked client certificate") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    auto revoked = std::make_shared<certs::RevocationList>();
    auto server_ctx = server_context(pki, pki.server(), revoked);
    const KeyPair agent = pki.agent("gone");
    auto client_ctx = client_context(pki, agent);

    const auto before = connect_once(server_ctx.get(), client_ctx.get());
    REQUIRE_FALSE(before.server_ec);
    REQUIRE_FALSE(before.client_read_ec);

    // The context keeps consulting the same list: no rebuild needed.
    revoked->add(agent.serial);
    const auto after = connect_once(server_ctx.get(), client_ctx.get());
    CHECK(ssl_reason(after.server_ec) == SSL_R_CERTIFICATE_VERIFY_FAILED);
    CHECK(after.server_detail ==
          "certificate verify failed: client certificate revoked (serial " + agent.serial + ")");
    CHECK(after.client_read_ec);
    CHECK(after.client_read_ec != asio::error::eof);
}

TEST_CASE("the server refuses a server certificate posing as an agent") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    auto server_ctx = server_context(pki, pki.server());
    const KeyPair other_server = pki.issue(certs::CertificateKind::server, "ms2", {"ms2.test"});
    auto client_ctx = make_agent_client_context({pki.ca_pem(), other_server.cert_pem, other_server.key_pem});
    REQUIRE(client_ctx.ok());
    const auto outcome = connect_once(server_ctx.get(), client_ctx->get());
    CHECK(ssl_reason(outcome.server_ec) == SSL_R_CERTIFICATE_VERIFY_FAILED);
    CHECK_THAT(outcome.server_detail, Catch::Contains("not an agent certificate"));
    CHECK(outcome.client_read_ec);
}

TEST_CASE("the server refuses a client limited to TLS 1.2 with a protocol version failure") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    auto server_ctx = server_context(pki, pki.server());
    const KeyPair agent = pki.agent();
    // Debian's openssl.cnf puts a TLS 1.2 floor on clients too, so a TLS 1.2
    // client is the oldest one can make: the refusal must come from the server.
    auto client_ctx = manual_client_context(pki, &agent, TLS1_2_VERSION);
    const auto outcome = connect_once(server_ctx.get(), client_ctx.get());
    CHECK(ssl_reason(outcome.server_ec) == SSL_R_UNSUPPORTED_PROTOCOL);
    CHECK(outcome.server_detail == "unsupported protocol");
    CHECK(ssl_reason(outcome.client_ec) == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION);
}

TEST_CASE_METHOD(PkiFixture, "the server's handshake fails on plaintext bytes") {
    error_code server_ec;
    bool client_saw_end = false;

    run_connection(
        [&](tcp::socket socket) -> awaitable<void> {
            TlsStream stream(std::move(socket), server_ctx.get(), Role::server);
            server_ec = co_await stream.handshake();
            stream.close();
        },
        [&](tcp::socket socket, std::uint16_t) -> awaitable<void> {
            const std::string text = "{\"type\":\"hello\",\"v\":1}\r\n\r\n";
            co_await asio::async_write(socket, asio::buffer(text), use_awaitable);
            char buffer[512];
            error_code ec;
            auto token = asio::redirect_error(use_awaitable, ec);
            while (!ec) {
                co_await socket.async_read_some(asio::buffer(buffer), token);
            }
            client_saw_end = true;
        });
    CHECK(server_ec.category() == asio::error::get_ssl_category());
    CHECK(ssl_reason(server_ec) != 0);
    CHECK(client_saw_end);
}

TEST_CASE("the client refuses a server whose certificate does not name the dialled address") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    auto server_ctx =
        server_context(pki, pki.issue(certs::CertificateKind::server, "ms2", {"ms2.test"}, {"10.9.8.7"}));
    auto client_ctx = client_context(pki, pki.agent());

    SECTION("by IP address") {
        const auto outcome = connect_once(server_ctx.get(), client_ctx.get());
        CHECK(ssl_reason(outcome.client_ec) == SSL_R_CERTIFICATE_VERIFY_FAILED);
        CHECK(outcome.client_detail == "certificate verify failed: IP address mismatch (expected 127.0.0.1)");
        CHECK(outcome.server_ec);
    }
    SECTION("by name") {
        const auto outcome = connect_once(server_ctx.get(), client_ctx.get(), "ms3.test:8250");
        CHECK(ssl_reason(outcome.client_ec) == SSL_R_CERTIFICATE_VERIFY_FAILED);
        CHECK(outcome.client_detail == "certificate verify failed: hostname mismatch (expected ms3.test)");
        CHECK(outcome.server_ec);
    }
}

TEST_CASE("enrollment: the client accepts the server when the CA matches its pin") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    const KeyPair server = pki.server();
    auto server_ctx = make_enroll_server_context(server.cert_pem, server.key_pem, pki.ca_pem());
    REQUIRE(server_ctx.ok());
    // The pin as `openssl x509 -fingerprint -sha256` would show it.
    std::string hex = pki.fingerprint().substr(std::string("sha256:").size());
    std::string shouted;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        shouted += (i == 0 ? "" : ":") + hex.substr(i, 2);
    }
    std::transform(
        shouted.begin(), shouted.end(), shouted.begin(), [](unsigned char c) { return std::toupper(c); });
    auto client_ctx = make_enroll_client_context(shouted);
    REQUIRE(client_ctx.ok());
    // Dialled by an address the certificate does not carry: the pin decides.
    const auto outcome = connect_once(server_ctx->get(), client_ctx->get(), "192.0.2.1:8251");
    CHECK_FALSE(outcome.server_ec);
    CHECK_FALSE(outcome.client_ec);
    CHECK_FALSE(outcome.client_read_ec);
}

TEST_CASE("enrollment: the client refuses the server when the CA does not match its pin") {
    TempDir dir;
    TestPki pki(dir.path(), "main");
    TestPki other(dir.path(), "other");
    const KeyPair server = pki.server();
    auto server_ctx = make_enroll_server_context(server.cert_pem, server.key_pem, pki.ca_pem());
    REQUIRE(server_ctx.ok());
    auto client_ctx = make_enroll_client_context(other.fingerprint());
    REQUIRE(client_ctx.ok());
    const auto outcome = connect_once(server_ctx->get(), client_ctx->get());
    CHECK(ssl_reason(outcome.client_ec) == SSL_R_CERTIFICATE_VERIFY_FAILED);
    CHECK(outcome.client_detail == "certificate verify failed: server CA fingerprint " + pki.fingerprint() +
                                       " does not match pinned " + other.fingerprint());
    CHECK(outcome.server_ec);
}
