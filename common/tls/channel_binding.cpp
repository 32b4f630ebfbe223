#include "common/tls/channel_binding.hpp"

#include "common/wire/messages.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace agentlb::tls {

Result<std::string> renew_expired_exporter(SSL* ssl) {
    if (ssl == nullptr || SSL_is_init_finished(ssl) != 1) {
        return fail("no finished TLS handshake to bind to");
    }
    std::string out(wire::kRenewExpiredExporterLength, '\0');
    const auto label = wire::kRenewExpiredExporterLabel;
    ERR_clear_error();
    if (SSL_export_keying_material(ssl,
                                   reinterpret_cast<unsigned char*>(out.data()),
                                   out.size(),
                                   label.data(),
                                   label.size(),
                                   nullptr,
                                   0,
                                   0) != 1) {
        ERR_clear_error();
        return fail("the TLS exporter value cannot be derived");
    }
    return out;
}

}  // namespace agentlb::tls
