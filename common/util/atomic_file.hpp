#pragma once

// Whole-file reads and crash-safe writes of small files: agent.properties,
// keys, certificates. The one writer of the project (certs/, common/props,
// agent/, agentlb-mgmt).
//
// write_file_atomically() never leaves a half-written target: a reader sees the
// old content or the new one. It writes a temporary file beside the target
// (same folder, so rename() stays within one file system), fsyncs it, puts it in
// place and fsyncs the folder so that step itself survives a crash.
//
// Both functions block on the disk: call them from a worker thread, never from
// an I/O thread.

#include "common/util/result.hpp"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace agentlb::util {

// The steps of write_file_atomically(), in order.
enum class AtomicWriteStep {
    create,     // create the temporary file beside the target
    set_mode,   // fchmod the temporary file (before any content is written)
    write,      // write the content
    fsync,      // fsync the temporary file
    close,      // close the temporary file
    rename,     // put the temporary file in place (rename, or link for Overwrite::refuse)
    fsync_dir,  // fsync the folder so the rename is durable
};

std::string_view to_string(AtomicWriteStep step);

// Test seam: lets tests make any step fail without a broken disk. Production
// code passes the default (no hook). before_step is called just before each
// step; returning false makes that step fail as if the system call had failed
// with EIO, and the normal failure path runs.
struct AtomicWriteHooks {
    std::function<bool(AtomicWriteStep step)> before_step;
};

// replace: rename over whatever is at the path. refuse: fail, naming the file,
// when something is already there (a CA key must never be replaced by mistake);
// hard-linking the finished file is the atomic "create only if absent".
enum class Overwrite { replace, refuse };

// Writes `content` at `path`, giving the file exactly `mode` (the umask is not
// applied). The mode is set with fchmod before any byte is written, so a key
// file (0600) is never readable by others, not even briefly. A symbolic link at
// `path` is replaced by a regular file, not followed.
//
// On failure before the file is in place, the temporary file is removed and the
// target is left untouched. If only the final folder fsync fails, the new
// content is already in place but may not survive a crash; the error says so.
// Errors name the step and the path, e.g.
// "cannot fsync /etc/agentlb/.agent.properties.tmp-Ab12Cd (writing /etc/agentlb/agent.properties): ...".
Status write_file_atomically(const std::filesystem::path& path,
                             std::string_view content,
                             ::mode_t mode,
                             Overwrite overwrite,
                             const AtomicWriteHooks& hooks = {});

inline Status write_file_atomically(const std::filesystem::path& path,
                                    std::string_view content,
                                    ::mode_t mode = 0644,
                                    const AtomicWriteHooks& hooks = {}) {
    return write_file_atomically(path, content, mode, Overwrite::replace, hooks);
}

// Renames `from` to `to` (replacing it) and fsyncs the folder of `to`, so the
// rename survives a crash: for a file written beside its target earlier (the
// agent's pending key, put in place once its certificate is stored).
Status rename_durably(const std::filesystem::path& from, const std::filesystem::path& to);

// The whole content of a regular file, refused when larger than `max_bytes`.
// Errors read "cannot read PATH: REASON" with the system's text (e.g. "No such
// file or directory", "Permission denied", "Is a directory"), "not a regular
// file" or "too large (...)".
Result<std::string> read_file(const std::filesystem::path& path,
                              std::size_t max_bytes = std::numeric_limits<std::size_t>::max());

}  // namespace agentlb::util
