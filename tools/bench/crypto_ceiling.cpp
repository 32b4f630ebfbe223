#include "tools/bench/crypto_ceiling.hpp"

#include "certs/handles.hpp"
#include "certs/keys.hpp"

#include <openssl/evp.h>

#include <array>
#include <ctime>
#include <stdexcept>
#include <vector>

namespace agentlb::bench {

namespace {

using Clock = std::chrono::steady_clock;

void check(bool ok, const char* what) {
    if (!ok) {
        throw std::runtime_error(certs::openssl_failure(std::string("crypto ceiling: ") + what));
    }
}

double thread_cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Runs op() in batches until it has had `budget` of CPU time; returns
// operations per CPU-second, so that other users of a shared machine do not
// lower the figure (they take turns on the core, not speed from it).
template <class Op>
double rate_of(std::chrono::milliseconds budget, Op op) {
    constexpr int kBatch = 64;
    const double cpu_budget = std::chrono::duration<double>(budget).count();
    const auto wall_limit = Clock::now() + budget * 20;
    const double start = thread_cpu_seconds();
    long count = 0;
    double used = 0;
    do {
        for (int i = 0; i < kBatch; ++i) {
            op();
        }
        count += kBatch;
        used = thread_cpu_seconds() - start;
    } while (used < cpu_budget && Clock::now() < wall_limit);
    return used > 0 ? static_cast<double>(count) / used : 0;
}

certs::EvpPkeyPtr x25519_key() {
    certs::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr));
    check(ctx && EVP_PKEY_keygen_init(ctx.get()) == 1, "X25519 keygen init");
    EVP_PKEY* key = nullptr;
    check(EVP_PKEY_keygen(ctx.get(), &key) == 1, "X25519 keygen");
    return certs::EvpPkeyPtr(key);
}

}  // namespace

PrimitiveSpeeds measure_primitive_speeds(std::chrono::milliseconds per_primitive) {
    PrimitiveSpeeds speeds;
    auto key = certs::generate_p256_key();
    if (!key) {
        throw std::runtime_error("crypto ceiling: " + key.error());
    }
    // A SHA-256 digest, as TLS 1.3 signs the hash of its CertificateVerify content.
    std::array<unsigned char, 32> digest{};
    for (std::size_t i = 0; i < digest.size(); ++i) {
        digest[i] = static_cast<unsigned char>(i * 7 + 1);
    }
    std::vector<unsigned char> signature(EVP_PKEY_get_size(key->get()));
    std::size_t signature_size = signature.size();

    certs::EvpPkeyCtxPtr sign_ctx(EVP_PKEY_CTX_new(key->get(), nullptr));
    check(sign_ctx && EVP_PKEY_sign_init(sign_ctx.get()) == 1, "ECDSA sign init");
    check(EVP_PKEY_sign(sign_ctx.get(), signature.data(), &signature_size, digest.data(), digest.size()) == 1,
          "ECDSA sign");
    speeds.sign_per_s = rate_of(per_primitive, [&] {
        std::size_t size = signature.size();
        if (EVP_PKEY_sign(sign_ctx.get(), signature.data(), &size, digest.data(), digest.size()) != 1) {
            throw std::runtime_error("crypto ceiling: ECDSA sign failed");
        }
        signature_size = size;
    });

    certs::EvpPkeyCtxPtr verify_ctx(EVP_PKEY_CTX_new(key->get(), nullptr));
    check(verify_ctx && EVP_PKEY_verify_init(verify_ctx.get()) == 1, "ECDSA verify init");
    speeds.verify_per_s = rate_of(per_primitive, [&] {
        if (EVP_PKEY_verify(
                verify_ctx.get(), signature.data(), signature_size, digest.data(), digest.size()) != 1) {
            throw std::runtime_error("crypto ceiling: ECDSA verify failed");
        }
    });

    certs::EvpPkeyCtxPtr keygen_ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr));
    check(keygen_ctx && EVP_PKEY_keygen_init(keygen_ctx.get()) == 1, "X25519 keygen init");
    speeds.keygen_per_s = rate_of(per_primitive, [&] {
        EVP_PKEY* fresh = nullptr;
        if (EVP_PKEY_keygen(keygen_ctx.get(), &fresh) != 1) {
            throw std::runtime_error("crypto ceiling: X25519 keygen failed");
        }
        EVP_PKEY_free(fresh);
    });

    auto ours = x25519_key();
    auto peer = x25519_key();
    certs::EvpPkeyCtxPtr derive_ctx(EVP_PKEY_CTX_new(ours.get(), nullptr));
    check(derive_ctx && EVP_PKEY_derive_init(derive_ctx.get()) == 1 &&
              EVP_PKEY_derive_set_peer(derive_ctx.get(), peer.get()) == 1,
          "X25519 derive init");
    std::array<unsigned char, 32> secret{};
    speeds.derive_per_s = rate_of(per_primitive, [&] {
        std::size_t size = secret.size();
        if (EVP_PKEY_derive(derive_ctx.get(), secret.data(), &size) != 1) {
            throw std::runtime_error("crypto ceiling: X25519 derive failed");
        }
    });
    return speeds;
}

CryptoCeiling compute_ceiling(const PrimitiveSpeeds& speeds, int cores) {
    CryptoCeiling c;
    c.speeds = speeds;
    c.cores = cores < 1 ? 1 : cores;
    c.cost_s = 1.0 / speeds.sign_per_s + 2.0 / speeds.verify_per_s + 1.0 / speeds.keygen_per_s +
               1.0 / speeds.derive_per_s;
    c.per_core = 1.0 / c.cost_s;
    c.ceiling = c.per_core * c.cores;
    c.simple_per_core =
        1.0 / (1.0 / speeds.sign_per_s + 1.0 / speeds.verify_per_s + 1.0 / speeds.derive_per_s);
    return c;
}

}  // namespace agentlb::bench
