#pragma once

// A path named by the properties file (tls.*.file) or the command line, as log
// lines and messages show it: util::peer_text with a path's bound.

#include "common/util/text.hpp"

#include <filesystem>
#include <string>

namespace agentlb::agent {

inline std::string printable_path(const std::filesystem::path& path) {
    return util::peer_text(path.native(), util::kShownPathBytes);
}

}  // namespace agentlb::agent
