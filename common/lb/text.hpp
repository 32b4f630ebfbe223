#pragma once

// Small text helpers shared by the lb parsers. Internal to agentlb_lb.

#include <cstdio>
#include <string>
#include <string_view>

namespace agentlb::lb::detail {

// Operator input is echoed back in messages: quote it and make control bytes
// visible so a stray tab or newline in a config value can be seen.
inline std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
    return out;
}

inline bool is_space(char c) {
    return c == ' ' || c == '\t';
}

inline std::string_view trim(std::string_view text) {
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

inline bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

inline bool all_digits(std::string_view text) {
    for (char c : text) {
        if (!is_digit(c)) {
            return false;
        }
    }
    return !text.empty();
}

}  // namespace agentlb::lb::detail
