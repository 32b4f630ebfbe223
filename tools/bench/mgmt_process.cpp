#include "tools/bench/mgmt_process.hpp"

#include "common/util/forked_child.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace agentlb::bench {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint16_t kLowestPort = 20000;
constexpr std::uint16_t kHighestPort = 32000;  // ephemeral ports start at 32768 here

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

}  // namespace

Result<pid_t> spawn_child(const std::vector<std::string>& argv,
                          const std::filesystem::path& log_file,
                          int keep_fd) {
    std::vector<std::string> storage = argv;
    std::vector<char*> args;
    for (auto& a : storage) {
        args.push_back(a.data());
    }
    args.push_back(nullptr);
    const int out = log_file.empty()
                        ? ::open("/dev/null", O_WRONLY | O_CLOEXEC)
                        : ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        return fail("cannot open " + (log_file.empty() ? std::string("/dev/null") : log_file.string()) +
                    ": " + std::strerror(errno));
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int error = errno;
        ::close(out);
        return fail(std::string("fork: ") + std::strerror(error));
    }
    if (pid == 0) {
        // Only async-signal-safe calls from here on.
        prepare_forked_child(parent, out, out);
        if (keep_fd >= 0) {
            ::dup2(keep_fd, 3);  // dup2 clears FD_CLOEXEC on the copy
        }
        ::signal(SIGPIPE, SIG_DFL);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::close(out);
    return pid;
}

Result<std::unique_ptr<MgmtProcess>> MgmtProcess::start(const MgmtSpec& spec, std::chrono::seconds timeout) {
    const auto port = [](std::uint16_t p) { return "127.0.0.1:" + std::to_string(p); };
    std::vector<std::string> argv{spec.binary,
                                  "--name",
                                  spec.name,
                                  "--db",
                                  spec.db,
                                  "--ca-dir",
                                  spec.ca_dir,
                                  "--state-dir",
                                  spec.state_dir,
                                  "--listen",
                                  port(spec.port),
                                  "--enroll-listen",
                                  port(spec.enroll_port),
                                  "--admin-listen",
                                  port(spec.admin_port),
                                  "--advertise",
                                  port(spec.port),
                                  "--threads",
                                  std::to_string(spec.threads)};
    if (!spec.app_socket.empty()) {
        argv.insert(argv.end(), {"--app-socket", spec.app_socket});
    }
    if (!spec.peer_listen.empty()) {
        argv.insert(argv.end(), {"--peer-listen", spec.peer_listen});
    }
    argv.insert(argv.end(), spec.extra_args.begin(), spec.extra_args.end());
    std::error_code ignored;
    std::filesystem::create_directories(spec.state_dir, ignored);
    auto pid = spawn_child(argv, spec.log_file, -1);
    if (!pid) {
        return fail(spec.name + ": " + pid.error());
    }
    std::unique_ptr<MgmtProcess> process(new MgmtProcess(spec, *pid));
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (process->exited()) {
            return fail(spec.name + " (" + spec.binary + ") exited at start; its log says:\n" +
                        tail_of(spec.log_file));
        }
        if (http_get(spec.admin_port, "/healthz", std::chrono::milliseconds(500))) {
            return process;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return fail(spec.name + " did not answer /healthz on 127.0.0.1:" + std::to_string(spec.admin_port) +
                " within " + std::to_string(timeout.count()) + " s; its log says:\n" +
                tail_of(spec.log_file));
}

MgmtProcess::~MgmtProcess() {
    if (reaped_) {
        return;
    }
    kill(SIGTERM);
    if (!wait(std::chrono::seconds(10))) {
        kill(SIGKILL);
        wait(std::chrono::seconds(10));
    }
}

std::string MgmtProcess::address() const {
    return "127.0.0.1:" + std::to_string(spec_.port);
}

void MgmtProcess::kill(int signal) {
    if (!reaped_) {
        ::kill(pid_, signal);
    }
}

bool MgmtProcess::exited() {
    if (reaped_) {
        return true;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
    }
    return reaped_;
}

std::optional<int> MgmtProcess::wait(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        int status = 0;
        if (reaped_) {
            return 0;
        }
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            reaped_ = true;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (Clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

Result<std::uint16_t> find_free_port(std::uint16_t& next) {
    if (next < kLowestPort || next >= kHighestPort) {
        next = kLowestPort;
    }
    for (int tries = 0; tries < kHighestPort - kLowestPort; ++tries) {
        const std::uint16_t candidate = next;
        next = static_cast<std::uint16_t>(next + 1 >= kHighestPort ? kLowestPort : next + 1);
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            return fail(std::string("socket: ") + std::strerror(errno));
        }
        const sockaddr_in address = loopback(candidate);
        const bool free = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
        ::close(fd);
        if (free) {
            return candidate;
        }
    }
    return fail("no free port on 127.0.0.1 between 20000 and 32000");
}

Result<std::string> http_get(std::uint16_t port, const std::string& path, std::chrono::milliseconds timeout) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return fail(std::string("socket: ") + std::strerror(errno));
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    timeval tv{};
    tv.tv_sec = timeout.count() / 1000;
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const sockaddr_in address = loopback(port);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        return fail("connect 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
    }
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
        return fail(std::string("send: ") + std::strerror(errno));
    }
    std::string response;
    char buffer[65536];
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n > 0) {
            response.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0) {
            break;
        } else if (errno != EINTR || Clock::now() >= deadline) {
            return fail("GET " + path + ": " + std::strerror(errno));
        }
    }
    const auto header_end = response.find("\r\n\r\n");
    if (response.rfind("HTTP/1.1 200", 0) != 0 || header_end == std::string::npos) {
        return fail("GET " + path + ": " + response.substr(0, response.find("\r\n")));
    }
    return response.substr(header_end + 4);
}

std::optional<double> metric_value(const std::string& metrics_text, const std::string& name) {
    std::istringstream lines(metrics_text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 &&
            line[name.size()] == ' ') {
            try {
                return std::stod(line.substr(name.size() + 1));
            } catch (const std::exception&) {
                return std::nullopt;
            }
        }
    }
    return std::nullopt;
}

std::string tail_of(const std::filesystem::path& path, std::size_t max) {
    std::ifstream in(path);
    std::stringstream all;
    all << in.rdbuf();
    std::string text = all.str();
    if (text.size() > max) {
        text = "..." + text.substr(text.size() - max);
    }
    return text;
}

}  // namespace agentlb::bench
