#include "certs/file_io.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace agentlb::certs {
namespace {

std::string errno_text(int error) {
    return std::strerror(error);
}

// Closes a descriptor on every path out of a function.
class FileDescriptor {
public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    ~FileDescriptor() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    int get() const { return fd_; }
    // Returns close()'s errno (0 on success): a failed close can lose data.
    int close() {
        int result = ::close(fd_);
        fd_ = -1;
        return result == 0 ? 0 : errno;
    }

private:
    int fd_;
};

Status write_all(int fd, std::string_view content, const std::filesystem::path& shown) {
    while (!content.empty()) {
        ssize_t n = ::write(fd, content.data(), content.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail("cannot write " + escaped_path(shown) + ": " + errno_text(errno));
        }
        content.remove_prefix(static_cast<std::size_t>(n));
    }
    return success();
}

void sync_folder(const std::filesystem::path& folder) {
    // Best effort: the rename is already visible; this only makes it durable.
    int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

Status write_temporary(const std::filesystem::path& temp,
                       std::string_view content,
                       ::mode_t mode,
                       const std::filesystem::path& target) {
    FileDescriptor fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
        return fail("cannot create a temporary file beside " + escaped_path(target) + ": " +
                    errno_text(errno));
    }
    // fchmod, not the open() mode, sets the exact bits whatever the umask is.
    if (::fchmod(fd.get(), mode) != 0) {
        return fail("cannot set the mode of " + escaped_path(temp) + ": " + errno_text(errno));
    }
    if (auto written = write_all(fd.get(), content, target); !written) {
        return written;
    }
    if (::fsync(fd.get()) != 0) {
        return fail("cannot flush " + escaped_path(target) + " to disk: " + errno_text(errno));
    }
    if (int error = fd.close(); error != 0) {
        return fail("cannot close " + escaped_path(target) + ": " + errno_text(error));
    }
    return success();
}

std::filesystem::path temporary_name(const std::filesystem::path& path) {
    // The pid and a counter keep concurrent writers apart; O_EXCL refuses a
    // leftover with the same name instead of writing through it.
    static std::atomic<unsigned> counter{0};
    std::string name = "." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                       std::to_string(counter.fetch_add(1));
    return path.parent_path() / name;
}

}  // namespace

Status write_file_securely(const std::filesystem::path& path,
                           std::string_view content,
                           ::mode_t mode,
                           Overwrite overwrite) {
    if (path.filename().empty()) {
        return fail("cannot write '" + escaped_path(path) + "': it names a folder, not a file");
    }
    std::filesystem::path temp = temporary_name(path);
    if (auto written = write_temporary(temp, content, mode, path); !written) {
        ::unlink(temp.c_str());
        return written;
    }
    if (overwrite == Overwrite::refuse) {
        // link() is the atomic "create only if absent" for a finished file.
        if (::link(temp.c_str(), path.c_str()) != 0) {
            int error = errno;
            ::unlink(temp.c_str());
            if (error == EEXIST) {
                return fail(escaped_path(path) + " already exists; refusing to overwrite it");
            }
            return fail("cannot create " + escaped_path(path) + ": " + errno_text(error));
        }
        ::unlink(temp.c_str());
    } else if (::rename(temp.c_str(), path.c_str()) != 0) {
        int error = errno;
        ::unlink(temp.c_str());
        return fail("cannot replace " + escaped_path(path) + ": " + errno_text(error));
    }
    sync_folder(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
    return success();
}

Result<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_bytes) {
    FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        return fail("cannot open " + escaped_path(path) + ": " + errno_text(errno));
    }
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) {
        return fail("cannot read " + escaped_path(path) + ": " + errno_text(errno));
    }
    if (!S_ISREG(info.st_mode)) {
        return fail(escaped_path(path) + " is not a regular file");
    }
    if (static_cast<std::size_t>(info.st_size) > max_bytes) {
        return fail(escaped_path(path) + " is too large (" + std::to_string(info.st_size) +
                    " bytes, at most " + std::to_string(max_bytes) + " expected)");
    }
    std::string content;
    std::vector<char> buffer(16384);
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail("cannot read " + escaped_path(path) + ": " + errno_text(errno));
        }
        if (n == 0) {
            break;
        }
        content.append(buffer.data(), static_cast<std::size_t>(n));
        if (content.size() > max_bytes) {
            return fail(escaped_path(path) + " is too large (more than " + std::to_string(max_bytes) +
                        " bytes)");
        }
    }
    return content;
}

}  // namespace agentlb::certs
