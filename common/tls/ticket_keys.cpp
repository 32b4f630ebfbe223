#include "common/tls/ticket_keys.hpp"

#include "certs/handles.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace agentlb::tls {

namespace {

constexpr char kDigest[] = "SHA256";

bool fill_random(unsigned char* out, std::size_t size) {
    return RAND_bytes(out, static_cast<int>(size)) == 1;
}

}  // namespace

Result<TicketKey> random_ticket_key() {
    TicketKey key;
    ERR_clear_error();
    if (!fill_random(key.name.data(), key.name.size()) ||
        !fill_random(key.aes_key.data(), key.aes_key.size()) ||
        !fill_random(key.hmac_key.data(), key.hmac_key.size())) {
        return fail(certs::openssl_failure("cannot make a session ticket key"));
    }
    return key;
}

Result<std::shared_ptr<TicketKeyRing>> TicketKeyRing::create() {
    ERR_clear_error();
    EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (cipher == nullptr || mac == nullptr) {
        EVP_CIPHER_free(cipher);
        EVP_MAC_free(mac);
        return fail(certs::openssl_failure("cannot fetch AES-256-CBC and HMAC for session tickets"));
    }
    return std::shared_ptr<TicketKeyRing>(new TicketKeyRing(cipher, mac));
}

TicketKeyRing::TicketKeyRing(EVP_CIPHER* cipher, EVP_MAC* mac)
    : cipher_(cipher), mac_(mac), keys_(std::make_shared<const Keys>()) {}

TicketKeyRing::~TicketKeyRing() {
    EVP_CIPHER_free(cipher_);
    EVP_MAC_free(mac_);
}

void TicketKeyRing::install(std::vector<TicketKey> keys) {
    auto next = std::make_shared<const Keys>(std::move(keys));
    std::lock_guard lock(mutex_);
    keys_.swap(next);
    // A handshake still using the previous list holds its own reference.
}

std::size_t TicketKeyRing::size() const {
    return keys()->size();
}

std::shared_ptr<const TicketKeyRing::Keys> TicketKeyRing::keys() const {
    std::lock_guard lock(mutex_);
    return keys_;
}

int TicketKeyRing::process(unsigned char* key_name,
                           unsigned char* iv,
                           EVP_CIPHER_CTX* cipher_ctx,
                           EVP_MAC_CTX* mac_ctx,
                           bool encrypt) const {
    const auto held = keys();
    const TicketKey* key = nullptr;
    int found = 0;
    if (encrypt) {
        if (held->empty()) {
            return 0;
        }
        key = &held->front();
        found = 1;
        std::memcpy(key_name, key->name.data(), key->name.size());
        const int iv_length = EVP_CIPHER_get_iv_length(cipher_);
        if (iv_length <= 0 || !fill_random(iv, static_cast<std::size_t>(iv_length))) {
            return -1;
        }
    } else {
        const auto match = std::find_if(held->begin(), held->end(), [&](const TicketKey& candidate) {
            return std::memcmp(candidate.name.data(), key_name, candidate.name.size()) == 0;
        });
        if (match == held->end()) {
            return 0;
        }
        key = &*match;
        found = match == held->begin() ? 1 : 2;  // an older key: renew the ticket
    }
    // The digest is named, not fetched: HMAC's parameters take a name only.
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(
            OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key->hmac_key.data()), key->hmac_key.size()),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(kDigest), 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_CTX_set_params(mac_ctx, params) != 1) {
        return -1;
    }
    const int ok = encrypt ? EVP_EncryptInit_ex2(cipher_ctx, cipher_, key->aes_key.data(), iv, nullptr)
                           : EVP_DecryptInit_ex2(cipher_ctx, cipher_, key->aes_key.data(), iv, nullptr);
    return ok == 1 ? found : -1;
}

}  // namespace agentlb::tls
