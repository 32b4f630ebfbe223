#pragma once

// Reading and writing the small files that hold keys and certificates.
//
// certs/ does not depend on common/props, so it carries its own atomic writer:
// a private key must never be readable by others, not even for the moment
// between creating a file and changing its mode.

#include "common/util/result.hpp"
#include "common/util/text.hpp"

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace agentlb::certs {

// A path as messages show it: control bytes made visible, since it may come
// from a file anyone could edit (an agent's tls.*.file).
inline std::string escaped_path(const std::filesystem::path& path) {
    return util::escape_text(path.native(), false);
}

enum class Overwrite { refuse, replace };

// Writes through a temporary file in the same folder that is created with mode
// 0600 and set to `mode` before any content is written, fsynced, then put in
// place: renamed over `path` (replace) or hard-linked, which fails when `path`
// exists (refuse; the message names the file). The folder is fsynced after.
Status write_file_securely(const std::filesystem::path& path,
                           std::string_view content,
                           ::mode_t mode,
                           Overwrite overwrite);

// Reads a whole file; refuses files larger than max_bytes (keys and
// certificates are a few kilobytes).
Result<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_bytes = 1024 * 1024);

}  // namespace agentlb::certs
