#include "common/appsock/listener.hpp"

#include <boost/system/error_code.hpp>

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <optional>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace agentlb::appsock {

namespace {

namespace fs = std::filesystem;
using boost::system::error_code;

constexpr mode_t kSocketMode = 0660;

std::string errno_text(int error) {
    return std::strerror(error);
}

// The group's id: a name, or a number as it is.
std::optional<gid_t> group_id(const std::string& group) {
    if (!group.empty() && group.find_first_not_of("0123456789") == std::string::npos && group.size() < 10) {
        return static_cast<gid_t>(std::stoul(group));
    }
    std::string buffer(16384, '\0');
    struct group entry {};
    struct group* found = nullptr;
    if (getgrnam_r(group.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
        return std::nullopt;
    }
    return found->gr_gid;
}

std::string folder_problem(const fs::path& folder) {
    struct stat st {};
    if (::stat(folder.c_str(), &st) != 0) {
        return "its folder " + folder.string() + " cannot be read: " + errno_text(errno);
    }
    if (!S_ISDIR(st.st_mode)) {
        return folder.string() + " is not a folder";
    }
    if ((st.st_mode & S_IWOTH) != 0 && (st.st_mode & S_ISVTX) == 0) {
        return "its folder " + folder.string() +
               " may be written by anyone (mode o+w without the sticky bit): another user could replace the "
               "socket";
    }
    return "";
}

// A socket file at `path` that nobody listens on any more can go; anything
// else stays and is the operator's to look at.
std::string clear_stale_socket(boost::asio::any_io_executor executor, const fs::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        return errno == ENOENT ? "" : path.string() + " cannot be read: " + errno_text(errno);
    }
    if (!S_ISSOCK(st.st_mode)) {
        return path.string() + " exists and is not a socket";
    }
    Socket probe(executor);
    error_code ec;
    probe.connect(boost::asio::local::stream_protocol::endpoint(path.string()), ec);
    if (!ec) {
        return "another process listens on " + path.string();
    }
    if (::unlink(path.c_str()) != 0) {
        return "the stale socket " + path.string() + " cannot be removed: " + errno_text(errno);
    }
    return "";
}

}  // namespace

Result<Acceptor> open_app_socket(boost::asio::any_io_executor executor,
                                 const fs::path& path,
                                 const std::string& group) {
    const std::string where = "app socket " + path.string() + ": ";
    if (path.string().size() >= sizeof(sockaddr_un{}.sun_path)) {
        return fail(where + "the path is longer than a Unix socket allows (" +
                    std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes)");
    }
    std::optional<gid_t> gid;
    if (!group.empty()) {
        gid = group_id(group);
        if (!gid) {
            return fail(where + "group '" + group + "' does not exist");
        }
    }
    const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
    if (auto problem = folder_problem(folder); !problem.empty()) {
        return fail(where + problem);
    }
    if (auto problem = clear_stale_socket(executor, path); !problem.empty()) {
        return fail(where + problem);
    }

    Acceptor acceptor(executor);
    error_code ec;
    acceptor.open(boost::asio::local::stream_protocol(), ec);
    // Created with no access for anyone else, then opened up to the group:
    // no moment when the socket is wider open than it will be.
    const mode_t old_mask = ::umask(0177);
    if (!ec) {
        acceptor.bind(boost::asio::local::stream_protocol::endpoint(path.string()), ec);
    }
    ::umask(old_mask);
    if (ec) {
        return fail(where + "cannot listen: " + ec.message());
    }
    if (gid && ::chown(path.c_str(), static_cast<uid_t>(-1), *gid) != 0) {
        const int error = errno;
        ::unlink(path.c_str());
        return fail(where + "cannot give it to group '" + group + "': " + errno_text(error));
    }
    if (::chmod(path.c_str(), kSocketMode) != 0) {
        const int error = errno;
        ::unlink(path.c_str());
        return fail(where + "cannot set its mode to 0660: " + errno_text(error));
    }
    acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
    if (ec) {
        ::unlink(path.c_str());
        return fail(where + "cannot listen: " + ec.message());
    }
    return acceptor;
}

std::string app_socket_problem(const fs::path& path, const std::string& group) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        return path.string() + " cannot be read: " + errno_text(errno);
    }
    if (!S_ISSOCK(st.st_mode)) {
        return path.string() + " is not a socket";
    }
    if ((st.st_mode & 07777) != kSocketMode) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return path.string() + " has mode " + mode + ", not 0660";
    }
    if (!group.empty()) {
        const auto gid = group_id(group);
        if (!gid || st.st_gid != *gid) {
            return path.string() + " does not belong to group '" + group + "'";
        }
    }
    return "";
}

}  // namespace agentlb::appsock
