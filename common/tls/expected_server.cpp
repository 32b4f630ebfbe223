// set_expected_server() (context.hpp): which name or address a dialled
// server's certificate must carry.

#include "certs/verify.hpp"
#include "common/tls/context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <string>
#include <string_view>

namespace agentlb::tls {

namespace {

bool is_ip_address(const std::string& host) {
    unsigned char buffer[16];
    return inet_pton(AF_INET, host.c_str(), buffer) == 1 || inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

bool all_digits(std::string_view text) {
    if (text.empty()) {
        return false;
    }
    for (char c : text) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

// "host", "host:port", "[v6]", "[v6]:port", or a bare IPv6 address -> host.
Result<std::string> host_without_port(std::string_view server) {
    const std::string quoted = "'" + std::string(server) + "'";
    if (server.empty()) {
        return fail("no server name or address to check the server certificate against");
    }
    if (server.front() == '[') {
        const auto close = server.find(']');
        if (close == std::string_view::npos || close == 1) {
            return fail("server address " + quoted + " has an unterminated or empty '['");
        }
        const std::string_view rest = server.substr(close + 1);
        if (!rest.empty() && (rest.front() != ':' || !all_digits(rest.substr(1)))) {
            return fail("server address " + quoted + " has something other than ':port' after ']'");
        }
        return std::string(server.substr(1, close - 1));
    }
    const auto colon = server.find(':');
    if (colon == std::string_view::npos || server.find(':', colon + 1) != std::string_view::npos) {
        return std::string(server);  // a name, an IPv4 address, or a bare IPv6 address
    }
    if (colon == 0 || !all_digits(server.substr(colon + 1))) {
        return fail("server address " + quoted + " is not host:port");
    }
    return std::string(server.substr(0, colon));
}

}  // namespace

Status set_expected_server(SSL* ssl, std::string_view server) {
    auto host = host_without_port(server);
    if (!host) {
        return fail(host.error());
    }
    ERR_clear_error();
    if (is_ip_address(*host)) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host->c_str()) != 1) {
            return fail(certs::openssl_failure("cannot expect server address " + *host));
        }
        return success();
    }
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(ssl, host->c_str()) != 1) {
        return fail(certs::openssl_failure("cannot expect server name '" + *host + "'"));
    }
    if (SSL_set_tlsext_host_name(ssl, host->c_str()) != 1) {
        return fail(certs::openssl_failure("cannot send server name '" + *host + "'"));
    }
    return success();
}

}  // namespace agentlb::tls
