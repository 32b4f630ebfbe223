#pragma once

// Text helpers for parsers and for echoing operator input back in messages.

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>

namespace agentlb::util {

// `text` without leading and trailing characters from `blanks`.
inline std::string_view trim(std::string_view text, std::string_view blanks = " \t") {
    const std::size_t first = text.find_first_not_of(blanks);
    if (first == std::string_view::npos) {
        return {};
    }
    const std::size_t last = text.find_last_not_of(blanks);
    return text.substr(first, last - first + 1);
}

// A space or a control byte anywhere: what a name that travels in messages,
// files and log lines must not hold.
inline bool contains_space_or_control(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte <= 0x20 || byte == 0x7f;
    });
}

// Control bytes as \xNN and a backslash doubled (and '"' escaped when
// `escape_quotes`), so a stray tab or newline in echoed input can be seen.
// `escape_non_ascii`: bytes >= 0x80 too, for text that must be ASCII (a part
// of a UTF-8 character alone would make the whole message invalid UTF-8).
inline std::string escape_text(std::string_view text,
                               bool escape_quotes = true,
                               bool escape_non_ascii = false) {
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
        if (c == '\\' || (escape_quotes && c == '"')) {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f || (escape_non_ascii && c >= 0x80)) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

}  // namespace agentlb::util
