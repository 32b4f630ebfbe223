#pragma once

// Shared by the tls tests: a temporary PKI made with certs/, contexts built
// from it, and a way to run coroutines on loopback with a hard time cap.

#include "certs/certificate_kind.hpp"
#include "certs/revocation.hpp"
#include "common/tls/context.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace agentlb::tls::test {

using ::agentlb::test::TempDir;

struct KeyPair {
    std::string cert_pem;
    std::string key_pem;
    std::string serial;
};

// A CA in a fresh folder under `dir`, issuing certificates with new P-256 keys.
class TestPki {
public:
    TestPki(const std::filesystem::path& dir, const std::string& name);
    ~TestPki();

    const std::string& ca_pem() const;
    std::string fingerprint() const;
    KeyPair issue(certs::CertificateKind kind,
                  const std::string& common_name,
                  std::vector<std::string> dns_names = {},
                  std::vector<std::string> ip_addresses = {}) const;
    // A server certificate for 127.0.0.1 and the name "ms1.test".
    KeyPair server() const {
        return issue(certs::CertificateKind::server, "ms1", {"ms1.test"}, {"127.0.0.1"});
    }
    KeyPair agent(const std::string& name = "agent1") const {
        return issue(certs::CertificateKind::agent, name);
    }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

SslCtxPtr server_context(const TestPki& pki,
                         const KeyPair& server,
                         std::shared_ptr<const certs::RevocationList> revoked = nullptr,
                         std::size_t session_tickets = 0);
SslCtxPtr client_context(const TestPki& pki, const KeyPair& agent);

// The start of most tls tests, for TEST_CASE_METHOD: a PKI "main" in a fresh
// folder, a server context for 127.0.0.1 and a client context for "agent1".
struct PkiFixture {
    TempDir dir;
    TestPki pki{dir.path(), "main"};
    SslCtxPtr server_ctx = server_context(pki, pki.server());
    SslCtxPtr client_ctx = client_context(pki, pki.agent());
};

// A listener on 127.0.0.1, port chosen by the kernel.
boost::asio::ip::tcp::acceptor make_loopback_acceptor(boost::asio::io_context& ioc);

// Starts `body` and records how it ended, so that a test can assert that
// every coroutine finished (and rethrow what one threw).
class Task {
public:
    Task(boost::asio::io_context& ioc, std::function<boost::asio::awaitable<void>()> body);
    bool done() const { return state_->done; }
    // Rethrows the coroutine's exception, if any.
    void check() const;

private:
    struct State {
        bool done = false;
        std::exception_ptr error;
    };
    std::shared_ptr<State> state_;
};

// Runs until no work is left or `cap` has passed; returns the time taken.
std::chrono::milliseconds run_capped(boost::asio::io_context& ioc,
                                     std::chrono::milliseconds cap = std::chrono::milliseconds(3000));

// The OpenSSL reason of an error from the ssl category (0 for others).
int ssl_reason(const boost::system::error_code& ec);

}  // namespace agentlb::tls::test
