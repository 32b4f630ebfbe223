#include "common/tls/verify_detail.hpp"

#include "certs/handles.hpp"
#include "common/tls/context.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <stdexcept>
#include <utility>

namespace agentlb::tls {

namespace {

void free_detail(
    void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/, void* /*argp*/) {
    delete static_cast<std::string*>(ptr);
}

}  // namespace

namespace detail {

// Per-session reason set by our verify callbacks; allocated only on refusal,
// so an idle session carries nothing.
int verify_detail_index() {
    static const int index = [] {
        const int i = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_detail);
        if (i < 0) {
            throw std::runtime_error("OpenSSL: cannot register SSL ex_data index");
        }
        return i;
    }();
    return index;
}

void set_verify_detail(SSL* ssl, std::string text) {
    auto* existing = static_cast<std::string*>(SSL_get_ex_data(ssl, verify_detail_index()));
    if (existing != nullptr) {
        *existing = std::move(text);
        return;
    }
    auto* detail = new std::string(std::move(text));
    if (SSL_set_ex_data(ssl, verify_detail_index(), detail) != 1) {
        delete detail;
    }
}

}  // namespace detail

std::string describe_verify_failure(SSL* ssl) {
    if (ssl == nullptr) {
        return {};
    }
    if (const auto* detail =
            static_cast<const std::string*>(SSL_get_ex_data(ssl, detail::verify_detail_index()));
        detail != nullptr && !detail->empty()) {
        return *detail;
    }
    const long result = SSL_get_verify_result(ssl);
    if (result == X509_V_OK) {
        return {};
    }
    std::string text = X509_verify_cert_error_string(result);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (result == X509_V_ERR_HOSTNAME_MISMATCH) {
        if (const char* host = X509_VERIFY_PARAM_get0_host(param, 0)) {
            text += " (expected ";
            text += host;
            text += ')';
        }
    } else if (result == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        if (certs::OpensslStringPtr ip{X509_VERIFY_PARAM_get1_ip_asc(param)}) {
            text += " (expected ";
            text += ip.get();
            text += ')';
        }
    }
    return text;
}

}  // namespace agentlb::tls
