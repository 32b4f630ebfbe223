#pragma once

// How many full TLS 1.3 mTLS handshakes per second the public-key crypto
// alone would allow a server on this machine, from OpenSSL's own primitive
// speeds measured in this run (as `openssl speed` does: one thread, keys and
// contexts prepared once, only the operation in the loop), per second of CPU
// time so that a loaded machine does not lower the ceiling.
//
// Per full handshake our server does, with an ECDSA P-256 certificate and an
// X25519 key share: one ECDSA sign (its CertificateVerify), two ECDSA
// verifies (the client certificate's signature by the CA, and the client's
// CertificateVerify), one X25519 key generation and one X25519 derivation.
// Hashing, HKDF and AES-GCM are left out: they cost a few microseconds.

#include <chrono>

namespace agentlb::bench {

struct PrimitiveSpeeds {
    double sign_per_s = 0;    // ECDSA P-256
    double verify_per_s = 0;  // ECDSA P-256
    double keygen_per_s = 0;  // X25519 key generation
    double derive_per_s = 0;  // X25519 shared secret
};

struct CryptoCeiling {
    PrimitiveSpeeds speeds;
    int cores = 1;
    // Seconds of one core per handshake: 1 sign + 2 verify + keygen + derive.
    double cost_s = 0;
    double per_core = 0;  // 1 / cost_s
    double ceiling = 0;   // per_core * cores
    // The brief's simpler model (1 sign + 1 verify + 1 derive), for comparison.
    double simple_per_core = 0;
};

// Throws std::runtime_error if OpenSSL cannot make the keys (a broken install).
PrimitiveSpeeds measure_primitive_speeds(std::chrono::milliseconds per_primitive);

CryptoCeiling compute_ceiling(const PrimitiveSpeeds& speeds, int cores);

}  // namespace agentlb::bench
