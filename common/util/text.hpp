#pragma once

// Text helpers for parsers and for echoing peer or operator input back in
// messages and log lines.

#include <algorithm>
#include <cstddef>
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

// How much of a value from a peer or a file a message or log line shows.
inline constexpr std::size_t kShownTextBytes = 200;
// A path (named by a properties file or a command line) is shown whole up to PATH_MAX.
inline constexpr std::size_t kShownPathBytes = 4096;

enum class Quoted { no, yes };

// The one way text that came from a peer, a file or a command line is shown in
// a message or a log line, so that it can neither forge nor colour a line:
// - control bytes (below 0x20, 0x7f, and the C1 controls U+0080..U+009F) and
//   bytes that are not part of valid UTF-8 become \xNN, and so do characters
//   that print nothing but change how a line reads (zero-width characters,
//   bidirectional overrides and isolates, the byte order mark); other valid
//   UTF-8 is kept, so the result is always valid UTF-8;
// - a backslash is doubled (so \xNN is never ambiguous), and with
//   Quoted::yes a '"' becomes \" and the result is wrapped in quotes;
// - at most `max_bytes` bytes of `text` are shown (never half a character);
//   "..." follows the shown part when some was cut (inside the quotes).
std::string peer_text(std::string_view text,
                      std::size_t max_bytes = kShownTextBytes,
                      Quoted quoted = Quoted::no);

// peer_text quoted, at the usual length: a name or value echoed in a message.
inline std::string quoted(std::string_view text) {
    return peer_text(text, kShownTextBytes, Quoted::yes);
}

// True when `text` holds nothing peer_text would show as \xNN: valid UTF-8
// without control bytes or invisible characters. What every message that
// echoes peer text must satisfy (the fuzz targets check it).
bool shows_safely(std::string_view text);

}  // namespace agentlb::util
