#include "common/util/text.hpp"

namespace agentlb::util {
namespace {

// The length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF) that starts `text`, or 0.
std::size_t utf8_sequence_length(std::string_view text) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const auto continuation = [&](std::size_t i) { return i < text.size() && (byte(i) & 0xc0) == 0x80; };
    const unsigned char lead = byte(0);
    if (lead < 0x80) {
        return 1;
    }
    if (lead >= 0xc2 && lead <= 0xdf) {
        return continuation(1) ? 2 : 0;
    }
    if (lead >= 0xe0 && lead <= 0xef) {
        if (!continuation(1) || !continuation(2)) {
            return 0;
        }
        if ((lead == 0xe0 && byte(1) < 0xa0) || (lead == 0xed && byte(1) > 0x9f)) {
            return 0;  // overlong, or a surrogate
        }
        return 3;
    }
    if (lead >= 0xf0 && lead <= 0xf4) {
        if (!continuation(1) || !continuation(2) || !continuation(3)) {
            return 0;
        }
        if ((lead == 0xf0 && byte(1) < 0x90) || (lead == 0xf4 && byte(1) > 0x8f)) {
            return 0;  // overlong, or above U+10FFFF
        }
        return 4;
    }
    return 0;
}

// Characters that print nothing yet change how a line reads: zero-width
// characters and direction marks (U+200B..U+200F), bidirectional embeddings
// and overrides (U+202A..U+202E), invisible operators and isolates
// (U+2060..U+206F), and the byte order mark (U+FEFF). A name holding one
// could make a log line read as something it does not say.
bool is_invisible_format(std::string_view sequence) {
    if (sequence.size() != 3) {
        return false;
    }
    const auto b0 = static_cast<unsigned char>(sequence[0]);
    const auto b1 = static_cast<unsigned char>(sequence[1]);
    const auto b2 = static_cast<unsigned char>(sequence[2]);
    if (b0 == 0xe2 && b1 == 0x80) {
        return (b2 >= 0x8b && b2 <= 0x8f) || (b2 >= 0xaa && b2 <= 0xae);
    }
    if (b0 == 0xe2 && b1 == 0x81) {
        return b2 >= 0xa0 && b2 <= 0xaf;
    }
    return b0 == 0xef && b1 == 0xbb && b2 == 0xbf;
}

// Whether the character of `length` bytes at the start of `text` is one that
// peer_text shows as \xNN (length 0: a byte that starts no valid sequence).
bool must_escape(std::string_view text, std::size_t length) {
    const auto byte = static_cast<unsigned char>(text[0]);
    const bool c1_control = length == 2 && byte == 0xc2 && static_cast<unsigned char>(text[1]) < 0xa0;
    return length == 0 || c1_control || byte < 0x20 || byte == 0x7f ||
           is_invisible_format(text.substr(0, length));
}

void append_hex(std::string& out, unsigned char byte) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\x";
    out += kHex[byte >> 4];
    out += kHex[byte & 0xf];
}

}  // namespace

std::string peer_text(std::string_view text, std::size_t max_bytes, Quoted quoted) {
    std::string out;
    out.reserve(std::min(text.size(), max_bytes) + 2);
    if (quoted == Quoted::yes) {
        out += '"';
    }
    std::size_t i = 0;
    while (i < text.size()) {
        const auto byte = static_cast<unsigned char>(text[i]);
        std::size_t length = utf8_sequence_length(text.substr(i));
        if (i + std::max<std::size_t>(length, 1) > max_bytes) {
            break;
        }
        if (must_escape(text.substr(i), length)) {
            for (std::size_t k = 0; k < std::max<std::size_t>(length, 1); ++k) {
                append_hex(out, static_cast<unsigned char>(text[i + k]));
            }
        } else if (byte == '\\' || (byte == '"' && quoted == Quoted::yes)) {
            out += '\\';
            out += static_cast<char>(byte);
        } else {
            out.append(text.substr(i, length));
        }
        i += std::max<std::size_t>(length, 1);
    }
    if (i < text.size()) {
        out += "...";
    }
    if (quoted == Quoted::yes) {
        out += '"';
    }
    return out;
}

bool shows_safely(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t length = utf8_sequence_length(text.substr(i));
        if (must_escape(text.substr(i), length)) {
            return false;
        }
        i += length;
    }
    return true;
}

}  // namespace agentlb::util
