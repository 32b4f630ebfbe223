#include "certs/name.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <string>

namespace agentlb::certs {
namespace {

constexpr std::size_t kMaxCommonName = 64;  // ub-common-name, RFC 5280
constexpr std::size_t kMaxDnsName = 253;
constexpr std::size_t kMaxLabel = 63;

bool is_label_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

Status validate_common_name(std::string_view common_name) {
    if (common_name.empty()) {
        return fail("common name is empty");
    }
    if (common_name.size() > kMaxCommonName) {
        return fail("common name '" + std::string(common_name.substr(0, kMaxCommonName)) +
                    "...' is longer than " + std::to_string(kMaxCommonName) + " bytes");
    }
    for (char c : common_name) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            return fail("common name contains a control character");
        }
    }
    return success();
}

Status validate_dns_name(std::string_view name) {
    std::string shown = "DNS name '" + std::string(name.substr(0, kMaxDnsName)) + "'";
    if (name.empty()) {
        return fail("DNS name is empty");
    }
    if (name.size() > kMaxDnsName) {
        return fail(shown + " is longer than " + std::to_string(kMaxDnsName) + " characters");
    }
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t end = name.find('.', start);
        if (end == std::string_view::npos) {
            end = name.size();
        }
        std::string_view label = name.substr(start, end - start);
        if (label.empty() || label.size() > kMaxLabel) {
            return fail(shown + " has an empty or over-long label");
        }
        for (char c : label) {
            if (!is_label_char(c)) {
                return fail(shown + " contains '" + std::string(1, c) +
                            "' (allowed: letters, digits, '-', '_', '.')");
            }
        }
        if (label.front() == '-' || label.back() == '-') {
            return fail(shown + " has a label that starts or ends with '-'");
        }
        start = end + 1;
    }
    return success();
}

Result<X509NamePtr> make_subject_name(std::string_view common_name) {
    if (auto valid = validate_common_name(common_name); !valid) {
        return fail(valid.error());
    }
    ERR_clear_error();
    X509NamePtr name(X509_NAME_new());
    if (!name || X509_NAME_add_entry_by_NID(name.get(),
                                            NID_commonName,
                                            MBSTRING_UTF8,
                                            reinterpret_cast<const unsigned char*>(common_name.data()),
                                            static_cast<int>(common_name.size()),
                                            -1,
                                            0) != 1) {
        return fail(openssl_failure("cannot use '" + std::string(common_name) + "' as a common name"));
    }
    return name;
}

}  // namespace agentlb::certs
