#include "tls_test_support.hpp"

#include "certs/ca.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>

#include <stdexcept>
#include <stdlib.h>
#include <utility>

namespace agentlb::tls::test {

namespace asio = boost::asio;

struct TestPki::Impl {
    explicit Impl(certs::CertificateAuthority authority) : ca(std::move(authority)) {}
    certs::CertificateAuthority ca;
};

namespace {

certs::CertificateAuthority make_ca(const std::filesystem::path& dir, const std::string& name) {
    const auto ca_dir = dir / name;
    if (auto status = certs::create_ca(ca_dir, name + " CA"); !status) {
        throw std::runtime_error("create_ca: " + status.error());
    }
    auto ca = certs::CertificateAuthority::load(ca_dir);
    if (!ca) {
        throw std::runtime_error("load CA: " + ca.error());
    }
    return std::move(ca).value();
}

}  // namespace

TestPki::TestPki(const std::filesystem::path& dir, const std::string& name)
    : impl_(std::make_unique<Impl>(make_ca(dir, name))) {}

TestPki::~TestPki() = default;

const std::string& TestPki::ca_pem() const {
    return impl_->ca.certificate_pem();
}

std::string TestPki::fingerprint() const {
    return impl_->ca.fingerprint();
}

KeyPair TestPki::issue(certs::CertificateKind kind,
                       const std::string& common_name,
                       std::vector<std::string> dns_names,
                       std::vector<std::string> ip_addresses) const {
    auto key = certs::generate_p256_key();
    if (!key) {
        throw std::runtime_error(key.error());
    }
    auto csr = certs::make_csr_pem(key->get(), common_name);
    if (!csr) {
        throw std::runtime_error(csr.error());
    }
    certs::IssueOptions options;
    options.kind = kind;
    options.common_name = common_name;
    options.dns_names = std::move(dns_names);
    options.ip_addresses = std::move(ip_addresses);
    auto issued = impl_->ca.issue(*csr, options);
    if (!issued) {
        throw std::runtime_error("issue: " + issued.error());
    }
    return KeyPair{issued->pem, certs::private_key_to_pem(key->get()), issued->serial};
}

SslCtxPtr server_context(const TestPki& pki,
                         const KeyPair& server,
                         std::shared_ptr<const certs::RevocationList> revoked,
                         std::size_t session_tickets) {
    auto ctx = make_agent_port_server_context(
        {pki.ca_pem(), server.cert_pem, server.key_pem, std::move(revoked), session_tickets});
    if (!ctx) {
        throw std::runtime_error(ctx.error());
    }
    return std::move(ctx).value();
}

SslCtxPtr client_context(const TestPki& pki, const KeyPair& agent) {
    auto ctx = make_agent_client_context({pki.ca_pem(), agent.cert_pem, agent.key_pem});
    if (!ctx) {
        throw std::runtime_error(ctx.error());
    }
    return std::move(ctx).value();
}

asio::ip::tcp::acceptor make_loopback_acceptor(asio::io_context& ioc) {
    return asio::ip::tcp::acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
}

Task::Task(asio::io_context& ioc, std::function<asio::awaitable<void>()> body)
    : state_(std::make_shared<State>()) {
    asio::co_spawn(ioc, std::move(body), [state = state_](std::exception_ptr error) {
        state->error = error;
        state->done = true;
    });
}

void Task::check() const {
    if (state_->error) {
        std::rethrow_exception(state_->error);
    }
}

std::chrono::milliseconds run_capped(asio::io_context& ioc, std::chrono::milliseconds cap) {
    const auto start = std::chrono::steady_clock::now();
    ioc.run_for(cap);
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

int ssl_reason(const boost::system::error_code& ec) {
    if (ec.category() != asio::error::get_ssl_category()) {
        return 0;
    }
    return ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
}

}  // namespace agentlb::tls::test
