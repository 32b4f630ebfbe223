#include "mgmt/log_text.hpp"

#include <fmt/format.h>

namespace agentlb::mgmt {

std::string escape_for_log(std::string_view text, std::size_t max_length) {
    std::string out;
    out.reserve(text.size() < max_length ? text.size() : max_length);
    std::size_t taken = 0;
    for (char c : text) {
        if (taken == max_length) {
            out += "...";
            break;
        }
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7f && c != '\\') {
            out += c;
        } else if (c == '\\') {
            out += "\\\\";
        } else {
            out += fmt::format("\\x{:02x}", byte);
        }
        ++taken;
    }
    return out;
}

}  // namespace agentlb::mgmt
