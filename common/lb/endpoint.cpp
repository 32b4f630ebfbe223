#include "common/lb/endpoint.hpp"

#include "common/lb/text.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cstddef>
#include <string>

namespace agentlb::lb {
namespace {

using detail::all_digits;
using detail::quoted;

constexpr std::size_t kMaxNameLength = 253;
constexpr std::size_t kMaxLabelLength = 63;

bool is_ipv6(std::string_view text) {
    // inet_pton stops at a NUL: "fd00::1\0junk" would pass as fd00::1.
    if (text.find('\0') != std::string_view::npos) {
        return false;
    }
    std::string copy(text);  // inet_pton wants a terminated string
    unsigned char bytes[16];
    return ::inet_pton(AF_INET6, copy.c_str(), bytes) == 1;
}

bool is_name_char(char c) {
    return detail::is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

Status check_ipv4(std::string_view host) {
    const std::string expected = "not a valid IPv4 address (expected four numbers 0-255 separated by dots)";
    int parts = 0;
    std::size_t start = 0;
    while (true) {
        std::size_t dot = host.find('.', start);
        std::string_view part = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
        ++parts;
        // Digits only: std::stoi would also take "-1", "+1" or " 1", and throw on "/".
        if (parts > 4 || part.size() > 3 || !all_digits(part)) {
            return fail(expected);
        }
        if (part.size() > 1 && part.front() == '0') {
            // inet_aton would read "010" as octal 8: refuse rather than guess.
            return fail("not a valid IPv4 address: " + quoted(part) + " has a leading zero");
        }
        if (std::stoi(std::string(part)) > 255) {
            return fail("not a valid IPv4 address: " + std::string(part) + " is more than 255");
        }
        if (dot == std::string_view::npos) {
            break;
        }
        start = dot + 1;
    }
    if (parts != 4) {
        return fail(expected);
    }
    return success();
}

Status check_label(std::string_view label) {
    if (label.empty()) {
        return fail("not a valid host name: empty label (two dots in a row, or a dot at the start or end)");
    }
    if (label.size() > kMaxLabelLength) {
        return fail("not a valid host name: label " + quoted(label) + " is longer than 63 characters");
    }
    for (char c : label) {
        if (!is_name_char(c)) {
            return fail("not a valid host name: " + quoted(std::string_view(&c, 1)) +
                        " is not allowed (letters, digits, '-' and '.' only)");
        }
    }
    if (label.front() == '-' || label.back() == '-') {
        return fail("not a valid host name: label " + quoted(label) + " starts or ends with '-'");
    }
    return success();
}

// RFC 1123 names and IPv4 dotted quads. A name whose last label is all
// digits is read as IPv4 (no top-level domain is numeric), so "10.0.0.256"
// is refused instead of being taken for a name.
Status check_host(std::string_view host) {
    if (host.empty()) {
        return fail("has no host name or address");
    }
    std::size_t last_dot = host.rfind('.');
    std::string_view last_label = last_dot == std::string_view::npos ? host : host.substr(last_dot + 1);
    if (all_digits(last_label)) {
        return check_ipv4(host);
    }
    if (host.size() > kMaxNameLength) {
        return fail("not a valid host name: longer than 253 characters");
    }
    std::size_t start = 0;
    while (true) {
        std::size_t dot = host.find('.', start);
        std::string_view label = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (Status st = check_label(label); !st) {
            return st;
        }
        if (dot == std::string_view::npos) {
            return success();
        }
        start = dot + 1;
    }
}

Result<std::uint16_t> parse_port(std::string_view text) {
    if (text.empty()) {
        return fail("has an empty port after ':'");
    }
    if (!all_digits(text)) {
        return fail("port " + quoted(text) + " is not a number (decimal digits only)");
    }
    std::size_t significant = text.find_first_not_of('0');
    std::string_view digits = significant == std::string_view::npos ? "0" : text.substr(significant);
    if (digits.size() > 5 || std::stol(std::string(digits)) > 65535 || digits == "0") {
        return fail("port " + std::string(text) + " is out of range 1-65535");
    }
    return static_cast<std::uint16_t>(std::stol(std::string(digits)));
}

Result<Endpoint> with_context(std::string_view entry, const std::string& reason) {
    return fail(quoted(entry) + ": " + reason);
}

Result<Endpoint> parse_bracketed(std::string_view entry) {
    std::size_t close = entry.find(']');
    if (close == std::string_view::npos) {
        return with_context(entry, "'[' without a closing ']'");
    }
    std::string_view address = entry.substr(1, close - 1);
    if (!is_ipv6(address)) {
        return with_context(entry, quoted(address) + " is not a valid IPv6 address");
    }
    std::string_view rest = entry.substr(close + 1);
    if (rest.empty()) {
        return Endpoint{std::string(address), kDefaultAgentPort};
    }
    if (rest.front() != ':') {
        return with_context(entry, "expected ':port' after ']'");
    }
    auto port = parse_port(rest.substr(1));
    if (!port) {
        return with_context(entry, port.error());
    }
    return Endpoint{std::string(address), *port};
}

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view entry) {
    if (entry.empty()) {
        return fail("empty address");
    }
    if (entry.front() == '[') {
        return parse_bracketed(entry);
    }
    std::size_t colon = entry.find(':');
    if (colon != std::string_view::npos && entry.find(':', colon + 1) != std::string_view::npos) {
        if (!is_ipv6(entry)) {
            return with_context(
                entry, "not a valid IPv6 address (write an IPv6 address with a port as [address]:port)");
        }
        return Endpoint{std::string(entry), kDefaultAgentPort};
    }
    std::string_view host = entry.substr(0, colon);
    if (Status st = check_host(host); !st) {
        return with_context(entry, st.error());
    }
    std::uint16_t port = kDefaultAgentPort;
    if (colon != std::string_view::npos) {
        auto parsed = parse_port(entry.substr(colon + 1));
        if (!parsed) {
            return with_context(entry, parsed.error());
        }
        port = *parsed;
    }
    return Endpoint{std::string(host), port};
}

std::string identity_key(const Endpoint& endpoint) {
    std::string host = endpoint.host;
    if (host.find(':') != std::string::npos) {
        unsigned char bytes[16];
        char text[INET6_ADDRSTRLEN];
        if (::inet_pton(AF_INET6, host.c_str(), bytes) == 1 &&
            ::inet_ntop(AF_INET6, bytes, text, sizeof text) != nullptr) {
            host = text;
        }
    }
    // Host names are case-insensitive (RFC 4343); canonical IPv6 is lower case.
    std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
    return to_string(Endpoint{host, endpoint.port});
}

bool same_endpoint(std::string_view a, std::string_view b) {
    auto first = parse_endpoint(a);
    auto second = parse_endpoint(b);
    return first && second && identity_key(*first) == identity_key(*second);
}

std::string to_string(const Endpoint& endpoint) {
    std::string port = std::to_string(endpoint.port);
    if (endpoint.host.find(':') != std::string::npos) {
        return "[" + endpoint.host + "]:" + port;
    }
    return endpoint.host + ":" + port;
}

}  // namespace agentlb::lb
