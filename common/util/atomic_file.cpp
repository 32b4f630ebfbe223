#include "common/util/atomic_file.hpp"

#include "common/util/text.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace agentlb::util {

namespace {

std::string errno_text(int err) {
    return std::error_code(err, std::generic_category()).message();
}

// A path as messages show it: control bytes made visible, since it may come
// from a file anyone could edit (an agent's tls.*.file).
std::string shown(const std::filesystem::path& path) {
    return peer_text(path.native(), kShownPathBytes);
}

// Runs the test hook for `step`; false means "fail this step" with EIO.
bool allowed(const AtomicWriteHooks& hooks, AtomicWriteStep step) {
    if (hooks.before_step && !hooks.before_step(step)) {
        errno = EIO;
        return false;
    }
    return true;
}

bool write_all(int fd, std::string_view content) {
    const char* p = content.data();
    std::size_t left = content.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    return true;
}

// Puts the finished temporary file at `path`; errno tells why not.
bool put_in_place(const std::string& tmp, const std::filesystem::path& path, Overwrite overwrite) {
    if (overwrite == Overwrite::replace) {
        return ::rename(tmp.c_str(), path.c_str()) == 0;
    }
    if (::link(tmp.c_str(), path.c_str()) != 0) {
        return false;
    }
    ::unlink(tmp.c_str());
    return true;
}

// Makes the entries of `dir` durable (a rename into it survives a crash):
// 0, or the errno of what failed.
int fsync_folder(const std::filesystem::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return errno;
    }
    const int err = ::fsync(fd) == 0 ? 0 : errno;
    ::close(fd);
    return err;
}

}  // namespace

std::string_view to_string(AtomicWriteStep step) {
    switch (step) {
        case AtomicWriteStep::create:
            return "create";
        case AtomicWriteStep::set_mode:
            return "set_mode";
        case AtomicWriteStep::write:
            return "write";
        case AtomicWriteStep::fsync:
            return "fsync";
        case AtomicWriteStep::close:
            return "close";
        case AtomicWriteStep::rename:
            return "rename";
        case AtomicWriteStep::fsync_dir:
            return "fsync_dir";
    }
    return "unknown";
}

Status write_file_atomically(const std::filesystem::path& path,
                             std::string_view content,
                             ::mode_t mode,
                             Overwrite overwrite,
                             const AtomicWriteHooks& hooks) {
    const std::string target = shown(path);
    if (!path.has_filename()) {
        return fail("cannot write " + target + ": the path names no file");
    }
    const std::filesystem::path dir =
        path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");

    // Hidden and beside the target: same file system for rename(), and a
    // leftover after a crash is recognisable by name.
    std::string tmpl = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');

    // mkostemp creates the file with mode 0600, so it is private from the start.
    int fd = -1;
    if (!allowed(hooks, AtomicWriteStep::create) || (fd = ::mkostemp(name.data(), O_CLOEXEC)) < 0) {
        return fail("cannot create a temporary file in " + shown(dir) + " (writing " + target +
                    "): " + errno_text(errno));
    }
    const std::string tmp(name.data());
    const std::string tmp_shown = shown(tmp);
    const std::string context = " (writing " + target + "): ";

    // Closes (if still open) and removes the temporary file, keeping the
    // errno of the step that failed for the message.
    auto abandon = [&](std::string what) -> Status {
        int err = errno;
        if (fd >= 0) {
            ::close(fd);
        }
        ::unlink(tmp.c_str());
        return fail(std::move(what) + context + errno_text(err));
    };

    if (!allowed(hooks, AtomicWriteStep::set_mode) || ::fchmod(fd, mode) != 0) {
        return abandon("cannot set the mode of " + tmp_shown);
    }
    if (!allowed(hooks, AtomicWriteStep::write) || !write_all(fd, content)) {
        return abandon("cannot write " + tmp_shown);
    }
    if (!allowed(hooks, AtomicWriteStep::fsync) || ::fsync(fd) != 0) {
        return abandon("cannot fsync " + tmp_shown);
    }
    if (!allowed(hooks, AtomicWriteStep::close)) {
        return abandon("cannot close " + tmp_shown);
    }
    int rc = ::close(fd);
    fd = -1;  // closed even when close() reports an error
    if (rc != 0) {
        return abandon("cannot close " + tmp_shown);
    }
    if (!allowed(hooks, AtomicWriteStep::rename) || !put_in_place(tmp, path, overwrite)) {
        if (overwrite == Overwrite::refuse && errno == EEXIST) {
            ::unlink(tmp.c_str());
            return fail(target + " already exists; refusing to overwrite it");
        }
        return abandon("cannot rename " + tmp_shown + " to " + target);
    }

    // From here the new content is in place; only its durability is at stake.
    auto not_durable = [&](int err) {
        return fail("cannot fsync folder " + shown(dir) + " after replacing " + target +
                    " (the new content is in place but may not survive a crash): " + errno_text(err));
    };
    if (!allowed(hooks, AtomicWriteStep::fsync_dir)) {
        return not_durable(errno);
    }
    if (const int err = fsync_folder(dir); err != 0) {
        return not_durable(err);
    }
    return success();
}

Status rename_durably(const std::filesystem::path& from, const std::filesystem::path& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) {
        return fail("cannot rename " + shown(from) + " to " + shown(to) + ": " + errno_text(errno));
    }
    const std::filesystem::path dir =
        to.parent_path().empty() ? std::filesystem::path(".") : to.parent_path();
    if (const int err = fsync_folder(dir); err != 0) {
        return fail("cannot fsync folder " + shown(dir) + " after renaming " + shown(from) + " to " +
                    shown(to) + " (the rename is done but may not survive a crash): " + errno_text(err));
    }
    return success();
}

Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes) {
    const std::string name = shown(path);
    auto failed = [&](int err) { return fail("cannot read " + name + ": " + errno_text(err)); };
    auto too_large = [&](const std::string& size) {
        return fail("cannot read " + name + ": too large (" + size + " bytes, at most " +
                    std::to_string(max_bytes) + " expected)");
    };

    // O_NONBLOCK so a FIFO at this path cannot block open(); it is refused below.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        return failed(errno);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        return failed(err);
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        return failed(EISDIR);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return fail("cannot read " + name + ": not a regular file");
    }

    if (static_cast<std::size_t>(st.st_size) > max_bytes) {
        ::close(fd);
        return too_large(std::to_string(st.st_size));
    }

    std::string content;
    content.reserve(static_cast<std::size_t>(st.st_size));
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            int err = errno;
            ::close(fd);
            return failed(err);
        }
        if (n == 0) {
            break;
        }
        content.append(buf, static_cast<std::size_t>(n));
        if (content.size() > max_bytes) {
            ::close(fd);
            return too_large("more than " + std::to_string(max_bytes));
        }
    }
    ::close(fd);
    return content;
}

}  // namespace agentlb::util
