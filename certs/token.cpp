#include "certs/token.hpp"

#include "certs/handles.hpp"
#include "certs/hex.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace agentlb::certs {
namespace {

constexpr std::string_view kAlphabet = util::kJoinTokenAlphabet;

std::string base64url(const unsigned char* data, std::size_t size) {
    std::string text;
    text.reserve((size * 4 + 2) / 3);
    std::size_t i = 0;
    for (; i + 3 <= size; i += 3) {
        const unsigned group = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
        text += kAlphabet[(group >> 18) & 63];
        text += kAlphabet[(group >> 12) & 63];
        text += kAlphabet[(group >> 6) & 63];
        text += kAlphabet[group & 63];
    }
    if (size - i == 1) {
        const unsigned group = data[i] << 16;
        text += kAlphabet[(group >> 18) & 63];
        text += kAlphabet[(group >> 12) & 63];
    } else if (size - i == 2) {
        const unsigned group = (data[i] << 16) | (data[i + 1] << 8);
        text += kAlphabet[(group >> 18) & 63];
        text += kAlphabet[(group >> 12) & 63];
        text += kAlphabet[(group >> 6) & 63];
    }
    return text;
}

}  // namespace

std::string generate_join_token() {
    std::array<unsigned char, 32> bytes{};
    ERR_clear_error();
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw std::runtime_error(openssl_failure("cannot draw random bytes for a join token"));
    }
    std::string token = base64url(bytes.data(), bytes.size());
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return token;
}

std::string hash_token(std::string_view token) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    ERR_clear_error();
    if (EVP_Digest(token.data(), token.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error(openssl_failure("cannot hash a join token"));
    }
    return to_hex(digest, size);
}

}  // namespace agentlb::certs
