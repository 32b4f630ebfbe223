#include "common/tls/ticket_key_wrap.hpp"

#include "certs/handles.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>

namespace agentlb::tls {

namespace {

constexpr unsigned char kVersion = 1;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kNameBytes = 16;
constexpr std::size_t kMaterialBytes = 64;  // AES key, then HMAC key
constexpr std::size_t kWrappedBytes = 1 + kNonceBytes + kMaterialBytes + kTagBytes;

struct CipherCtxDeleter {
    void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

const unsigned char* bytes(std::string_view text) {
    return reinterpret_cast<const unsigned char*>(text.data());
}

// The associated data: the version and the key's name, so a row's material
// cannot be moved under another name.
std::array<unsigned char, 1 + kNameBytes> associated(const unsigned char* name) {
    std::array<unsigned char, 1 + kNameBytes> data{};
    data[0] = kVersion;
    std::memcpy(data.data() + 1, name, kNameBytes);
    return data;
}

}  // namespace

TicketKeyWrapper::TicketKeyWrapper(const std::array<unsigned char, 32>& wrapping_key) : key_(wrapping_key) {}

TicketKeyWrapper::~TicketKeyWrapper() {
    OPENSSL_cleanse(key_.data(), key_.size());
}

Result<std::string> TicketKeyWrapper::wrap(const TicketKey& key) const {
    std::array<unsigned char, kWrappedBytes> out{};
    out[0] = kVersion;
    unsigned char* nonce = out.data() + 1;
    unsigned char* ciphertext = nonce + kNonceBytes;
    unsigned char* tag = ciphertext + kMaterialBytes;
    std::array<unsigned char, kMaterialBytes> material{};
    std::memcpy(material.data(), key.aes_key.data(), key.aes_key.size());
    std::memcpy(material.data() + key.aes_key.size(), key.hmac_key.data(), key.hmac_key.size());
    const auto aad = associated(key.name.data());
    ERR_clear_error();
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    int written = 0;
    int final_written = 0;
    const bool ok =
        ctx && RAND_bytes(nonce, static_cast<int>(kNonceBytes)) == 1 &&
        EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key_.data(), nonce, nullptr) == 1 &&
        EVP_EncryptUpdate(ctx.get(), nullptr, &written, aad.data(), static_cast<int>(aad.size())) == 1 &&
        EVP_EncryptUpdate(
            ctx.get(), ciphertext, &written, material.data(), static_cast<int>(material.size())) == 1 &&
        EVP_EncryptFinal_ex(ctx.get(), ciphertext + written, &final_written) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes), tag) == 1;
    OPENSSL_cleanse(material.data(), material.size());
    if (!ok) {
        return fail(certs::openssl_failure("cannot wrap a session ticket key"));
    }
    return std::string(reinterpret_cast<const char*>(out.data()), out.size());
}

std::optional<TicketKey> TicketKeyWrapper::unwrap(std::string_view name, std::string_view wrapped) const {
    if (name.size() != kNameBytes || wrapped.size() != kWrappedBytes ||
        static_cast<unsigned char>(wrapped[0]) != kVersion) {
        return std::nullopt;
    }
    const unsigned char* nonce = bytes(wrapped) + 1;
    const unsigned char* ciphertext = nonce + kNonceBytes;
    const unsigned char* tag = ciphertext + kMaterialBytes;
    const auto aad = associated(bytes(name));
    std::array<unsigned char, kMaterialBytes> material{};
    std::array<unsigned char, kTagBytes> expected_tag{};
    std::memcpy(expected_tag.data(), tag, kTagBytes);
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    int written = 0;
    int final_written = 0;
    const bool ok =
        ctx && EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key_.data(), nonce, nullptr) == 1 &&
        EVP_DecryptUpdate(ctx.get(), nullptr, &written, aad.data(), static_cast<int>(aad.size())) == 1 &&
        EVP_DecryptUpdate(
            ctx.get(), material.data(), &written, ciphertext, static_cast<int>(kMaterialBytes)) == 1 &&
        EVP_CIPHER_CTX_ctrl(
            ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), expected_tag.data()) == 1 &&
        EVP_DecryptFinal_ex(ctx.get(), material.data() + written, &final_written) == 1;
    ERR_clear_error();  // a refused tag is an answer, not an error to report later
    std::optional<TicketKey> key;
    if (ok) {
        key.emplace();
        std::memcpy(key->name.data(), name.data(), kNameBytes);
        std::memcpy(key->aes_key.data(), material.data(), key->aes_key.size());
        std::memcpy(key->hmac_key.data(), material.data() + key->aes_key.size(), key->hmac_key.size());
    }
    OPENSSL_cleanse(material.data(), material.size());
    return key;
}

}  // namespace agentlb::tls
