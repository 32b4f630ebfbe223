#pragma once

// Text that came from a peer (error messages, server names) or from the
// properties file (zone, name, paths) is shown in log lines only through
// these: control bytes made visible (util::escape_text), length bounded, so
// neither can forge or colour a log line.

#include "common/util/text.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace agentlb::agent {

inline std::string printable(std::string_view text, std::size_t max = 200) {
    std::string out = util::escape_text(text.substr(0, max), false);
    if (text.size() > max) {
        out += "...";
    }
    return out;
}

// A path named by the properties file (tls.*.file) or the command line.
inline std::string printable_path(const std::filesystem::path& path) {
    return printable(path.native(), 4096);
}

}  // namespace agentlb::agent
