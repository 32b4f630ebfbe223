#include "certs/possession.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

namespace agentlb::certs {
namespace {

// Longer than any signature of a key the CSR policy admits (RSA 8192: 1024
// bytes, base64 1368): a bound on what is decoded.
constexpr std::size_t kMaxSignatureBase64 = 2048;

std::string message_of(std::string_view exporter, std::string_view csr_pem) {
    std::string message;
    message.reserve(exporter.size() + csr_pem.size());
    message.append(exporter);
    message.append(csr_pem);
    return message;
}

std::string to_base64(const std::vector<unsigned char>& bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(
        reinterpret_cast<unsigned char*>(out.data()), bytes.data(), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

Result<std::vector<unsigned char>> from_base64(std::string_view text) {
    if (text.empty() || text.size() > kMaxSignatureBase64 || text.size() % 4 != 0) {
        return fail("the signature is not base64 of a plausible length");
    }
    std::vector<unsigned char> out(3 * text.size() / 4);
    const int n = EVP_DecodeBlock(
        out.data(), reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0) {
        return fail("the signature is not base64");
    }
    // EVP_DecodeBlock keeps the bytes the padding stands for: drop them.
    std::size_t size = static_cast<std::size_t>(n);
    for (std::size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) {
        --size;
    }
    out.resize(size);
    return out;
}

}  // namespace

Result<std::string> sign_channel_proof(EVP_PKEY* key, std::string_view exporter, std::string_view csr_pem) {
    EvpMdCtxPtr context(EVP_MD_CTX_new());
    if (!context || EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
        return fail("cannot sign with the certificate's key");
    }
    const std::string message = message_of(exporter, csr_pem);
    std::size_t length = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(message.data());
    if (EVP_DigestSign(context.get(), nullptr, &length, data, message.size()) != 1) {
        return fail("cannot sign with the certificate's key");
    }
    std::vector<unsigned char> signature(length);
    if (EVP_DigestSign(context.get(), signature.data(), &length, data, message.size()) != 1) {
        return fail("cannot sign with the certificate's key");
    }
    signature.resize(length);
    return to_base64(signature);
}

Status verify_channel_proof(X509* certificate,
                            std::string_view exporter,
                            std::string_view csr_pem,
                            std::string_view signature_base64) {
    auto signature = from_base64(signature_base64);
    if (!signature) {
        return fail(signature.error());
    }
    EVP_PKEY* key = X509_get0_pubkey(certificate);
    EvpMdCtxPtr context(EVP_MD_CTX_new());
    if (key == nullptr || !context ||
        EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
        return fail("the certificate's public key cannot verify signatures");
    }
    const std::string message = message_of(exporter, csr_pem);
    const int verified = EVP_DigestVerify(context.get(),
                                          signature->data(),
                                          signature->size(),
                                          reinterpret_cast<const unsigned char*>(message.data()),
                                          message.size());
    if (verified != 1) {
        ERR_clear_error();  // a bad signature leaves OpenSSL's reasons on this thread's queue
        return fail(
            "the signature does not verify with the certificate's key over this connection's exporter "
            "value and the CSR");
    }
    return success();
}

}  // namespace agentlb::certs
