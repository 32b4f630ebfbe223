#pragma once

// Text that came from a peer (error messages, server names) is shown in log
// lines only through this: control bytes made visible, length bounded.

#include <cstdio>
#include <string>
#include <string_view>

namespace agentlb::agent {

inline std::string printable(std::string_view text, std::size_t max = 200) {
    std::string out;
    for (unsigned char c : text.substr(0, max)) {
        if (c < 0x20 || c == 0x7f || c == '\\') {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    if (text.size() > max) {
        out += "...";
    }
    return out;
}

}  // namespace agentlb::agent
