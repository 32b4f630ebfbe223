#pragma once

// The names hosts enrol under. They become a certificate's CN, a store key,
// file contents and log text, and operators type them: so they are RFC 1123
// host names (letters, digits, '-', dots between labels; no '_'), compared
// without regard to ASCII case, at most 64 characters (the X.509 bound for a
// CN, tighter than RFC 1123's 253).

#include "common/util/result.hpp"
#include "common/util/text.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace agentlb::util {

inline constexpr std::size_t kMaxHostNameLength = 64;
inline constexpr std::size_t kMaxHostNameLabel = 63;

// The reason names the offending character and its position (1-based).
inline Status check_host_name(std::string_view name) {
    const auto shown = [&] { return "host name " + peer_text(name, kMaxHostNameLength + 8, Quoted::yes); };
    if (name.empty()) {
        return fail("host name is empty");
    }
    if (name.size() > kMaxHostNameLength) {
        return fail(shown() + " is " + std::to_string(name.size()) + " characters long; at most " +
                    std::to_string(kMaxHostNameLength) + " (it becomes a certificate's common name)");
    }
    std::size_t label_start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
        if (i == name.size() || name[i] == '.') {
            const std::size_t length = i - label_start;
            if (length == 0) {
                return fail(shown() +
                            " has an empty label (two dots in a row, or a dot at the start or end)");
            }
            if (length > kMaxHostNameLabel) {
                return fail(shown() + " has a label longer than 63 characters");
            }
            if (name[label_start] == '-' || name[i - 1] == '-') {
                return fail(shown() + " has a label that starts or ends with '-'");
            }
            label_start = i + 1;
            continue;
        }
        const char c = name[i];
        const bool allowed =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!allowed) {
            return fail(shown() + " contains '" + peer_text(name.substr(i, 1)) + "' at position " +
                        std::to_string(i + 1) + "; a host name may hold only letters, digits, '-' and '.' " +
                        "between labels (RFC 1123)");
        }
    }
    return success();
}

inline char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Host names are unique without regard to ASCII case: `KVM1` is `kvm1`.
inline bool same_host_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) {
            return false;
        }
    }
    return true;
}

}  // namespace agentlb::util
