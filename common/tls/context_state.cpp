#include "common/tls/context_state.hpp"

#include "certs/revocation.hpp"
#include "certs/verify.hpp"

#include <openssl/ssl.h>

#include <stdexcept>
#include <utility>

namespace agentlb::tls::detail {

namespace {

void free_context_state(
    void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/, void* /*argp*/) {
    delete static_cast<ContextState*>(ptr);
}

}  // namespace

int context_state_index() {
    static const int index = [] {
        const int i = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_context_state);
        if (i < 0) {
            throw std::runtime_error("OpenSSL: cannot register SSL_CTX ex_data index");
        }
        return i;
    }();
    return index;
}

const ContextState* context_state(const SSL_CTX* ctx) {
    return static_cast<const ContextState*>(SSL_CTX_get_ex_data(ctx, context_state_index()));
}

Status attach_state(SSL_CTX* ctx, ContextState state) {
    auto* owned = new ContextState(std::move(state));
    if (SSL_CTX_set_ex_data(ctx, context_state_index(), owned) != 1) {
        delete owned;
        return fail(certs::openssl_failure("cannot attach state to the TLS context"));
    }
    return success();
}

}  // namespace agentlb::tls::detail
