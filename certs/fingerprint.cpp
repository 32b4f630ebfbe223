#include "certs/fingerprint.hpp"

#include "certs/hex.hpp"
#include "certs/pem.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <stdexcept>

namespace agentlb::certs {
namespace {

constexpr std::string_view kPrefix = "sha256:";
constexpr std::size_t kDigits = 64;

// ASCII lowercase without a data-dependent branch.
char lower(char c) {
    auto byte = static_cast<unsigned char>(c);
    unsigned is_upper = static_cast<unsigned>(static_cast<unsigned char>(byte - 'A') < 26);
    return static_cast<char>(byte | (is_upper << 5));
}

bool is_hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool starts_with_prefix(std::string_view text) {
    if (text.size() < kPrefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < kPrefix.size(); ++i) {
        if (lower(text[i]) != kPrefix[i]) {
            return false;
        }
    }
    return true;
}

// The 64 lowercase digits, or "" when the text is not a SHA-256 fingerprint.
std::string digits_of(std::string_view text) {
    if (starts_with_prefix(text)) {
        text.remove_prefix(kPrefix.size());
    }
    std::string digits;
    digits.reserve(kDigits);
    for (char c : text) {
        if (c == ':') {
            continue;
        }
        char l = lower(c);
        if (!is_hex_digit(l) || digits.size() == kDigits) {
            return {};
        }
        digits += l;
    }
    return digits.size() == kDigits ? digits : std::string();
}

}  // namespace

std::string fingerprint_of(X509* certificate) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (X509_digest(certificate, EVP_sha256(), digest, &size) != 1) {
        throw std::runtime_error(openssl_failure("cannot compute a certificate fingerprint"));
    }
    return std::string(kPrefix) + to_hex(digest, size);
}

Result<std::string> fingerprint_of_pem(std::string_view certificate_pem) {
    auto certificate = parse_certificate_pem(certificate_pem);
    if (!certificate) {
        return fail(certificate.error());
    }
    return fingerprint_of(certificate->get());
}

Result<std::string> normalize_fingerprint(std::string_view text) {
    std::string digits = digits_of(text);
    if (digits.empty()) {
        return fail("fingerprint '" + std::string(text.substr(0, 120)) +
                    "' is not sha256: followed by 64 hex digits");
    }
    return std::string(kPrefix) + digits;
}

bool fingerprint_equal(std::string_view a, std::string_view b) {
    std::string left = digits_of(a);
    std::string right = digits_of(b);
    if (left.empty() || right.empty()) {
        return false;
    }
    return CRYPTO_memcmp(left.data(), right.data(), kDigits) == 0;
}

}  // namespace agentlb::certs
