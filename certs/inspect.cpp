#include "certs/inspect.hpp"

#include "common/util/rfc3339.hpp"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <arpa/inet.h>
#include <ctime>
#include <memory>
#include <stdexcept>

namespace agentlb::certs {
namespace {

struct GeneralNamesDeleter {
    void operator()(GENERAL_NAMES* names) const noexcept { GENERAL_NAMES_free(names); }
};
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter>;

std::int64_t unix_seconds_of(const ASN1_TIME* time) {
    std::tm parts{};
    if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) {
        // Parsing a certificate already checked its times: this is a bug.
        throw std::runtime_error("certificate has an unreadable validity time");
    }
    return util::days_from_civil(parts.tm_year + 1900,
                                 static_cast<unsigned>(parts.tm_mon + 1),
                                 static_cast<unsigned>(parts.tm_mday)) *
               86400 +
           parts.tm_hour * 3600 + parts.tm_min * 60 + parts.tm_sec;
}

template <class Visit>
void for_each_alt_name(X509* certificate, Visit visit) {
    GeneralNamesPtr names(
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) {
        return;
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        visit(*sk_GENERAL_NAME_value(names.get(), i));
    }
}

std::string ip_text(const ASN1_OCTET_STRING* bytes) {
    char buffer[INET6_ADDRSTRLEN] = {};
    const int size = ASN1_STRING_length(bytes);
    const int family = size == 4 ? AF_INET : size == 16 ? AF_INET6 : 0;
    if (family == 0 || inet_ntop(family, ASN1_STRING_get0_data(bytes), buffer, sizeof buffer) == nullptr) {
        return {};
    }
    return buffer;
}

// "host", "host:port", "[v6]:port", "[v6]" or a bare v6 address -> host.
std::string_view host_of(std::string_view address) {
    if (!address.empty() && address.front() == '[') {
        const auto close = address.find(']');
        return close == std::string_view::npos ? std::string_view() : address.substr(1, close - 1);
    }
    const auto colon = address.find(':');
    if (colon != std::string_view::npos && address.find(':', colon + 1) == std::string_view::npos) {
        return address.substr(0, colon);
    }
    return address;
}

bool is_ip_address(const std::string& host) {
    unsigned char buffer[16];
    return inet_pton(AF_INET, host.c_str(), buffer) == 1 || inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

}  // namespace

std::string serial_of(X509* certificate) {
    BignumPtr number(ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr));
    OpensslStringPtr hex(number ? BN_bn2hex(number.get()) : nullptr);
    if (!hex) {
        throw std::runtime_error(openssl_failure("cannot read a certificate serial number"));
    }
    // BN_bn2hex prints whole bytes ("0A1B"); the canonical form has no leading zero.
    std::string_view digits(hex.get());
    const bool negative = !digits.empty() && digits.front() == '-';
    if (negative) {
        digits.remove_prefix(1);
    }
    const auto first = digits.find_first_not_of('0');
    std::string text =
        (negative ? "-" : "") +
        std::string(first == std::string_view::npos ? std::string_view("0") : digits.substr(first));
    std::transform(text.begin(), text.end(), text.begin(), [](char c) {
        return c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return text;
}

std::string common_name_of(X509* certificate) {
    X509_NAME* subject = X509_get_subject_name(certificate);
    const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index < 0) {
        return {};
    }
    unsigned char* utf8 = nullptr;
    const int size =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
    if (size < 0) {
        ERR_clear_error();
        return {};
    }
    std::string name(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(size));
    OPENSSL_free(utf8);
    return name;
}

std::int64_t not_before_of(X509* certificate) {
    return unix_seconds_of(X509_get0_notBefore(certificate));
}

std::int64_t not_after_of(X509* certificate) {
    return unix_seconds_of(X509_get0_notAfter(certificate));
}

bool needs_renewal(X509* certificate, std::int64_t now) {
    const std::int64_t start = not_before_of(certificate);
    const std::int64_t end = not_after_of(certificate);
    return now >= start + (end - start) * 2 / 3;
}

std::int64_t renewal_time(std::int64_t not_before, std::int64_t not_after, int permille) {
    return not_before + (not_after - not_before) * permille / 1000;
}

std::int64_t renewal_time(X509* certificate, int permille) {
    return renewal_time(not_before_of(certificate), not_after_of(certificate), permille);
}

std::vector<std::string> dns_names_of(X509* certificate) {
    std::vector<std::string> names;
    for_each_alt_name(certificate, [&](const GENERAL_NAME& name) {
        if (name.type == GEN_DNS) {
            names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name.d.dNSName)),
                               static_cast<std::size_t>(ASN1_STRING_length(name.d.dNSName)));
        }
    });
    return names;
}

std::vector<std::string> ip_addresses_of(X509* certificate) {
    std::vector<std::string> addresses;
    for_each_alt_name(certificate, [&](const GENERAL_NAME& name) {
        if (name.type == GEN_IPADD) {
            addresses.push_back(ip_text(name.d.iPAddress));
        }
    });
    return addresses;
}

bool matches_address(X509* certificate, std::string_view host_or_host_port) {
    const std::string host(host_of(host_or_host_port));
    if (host.empty()) {
        return false;
    }
    ERR_clear_error();
    bool matches = false;
    if (is_ip_address(host)) {
        matches = X509_check_ip_asc(certificate, host.c_str(), 0) == 1;
    } else {
        matches = X509_check_host(certificate,
                                  host.data(),
                                  host.size(),
                                  X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
                                  nullptr) == 1;
    }
    ERR_clear_error();
    return matches;
}

}  // namespace agentlb::certs
