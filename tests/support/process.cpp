#include "tests/support/process.hpp"

#include "common/util/forked_child.hpp"
#include "tests/support/wait.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <system_error>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace agentlb::test {

namespace {

// Everything exec needs, built before fork: the child may only make
// async-signal-safe calls.
struct ExecImage {
    std::vector<std::string> argv_storage;
    std::vector<std::string> env_storage;
    std::vector<char*> argv;
    std::vector<char*> envp;

    ExecImage(const std::vector<std::string>& args, const std::map<std::string, std::string>& env)
        : argv_storage(args) {
        if (args.empty()) {
            throw std::invalid_argument("empty argv");
        }
        for (char** e = environ; *e != nullptr; ++e) {
            std::string entry(*e);
            const auto name = entry.substr(0, entry.find('='));
            if (env.count(name) == 0) {
                env_storage.push_back(std::move(entry));
            }
        }
        for (const auto& [name, value] : env) {
            env_storage.push_back(name + "=" + value);
        }
        for (auto& a : argv_storage) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        for (auto& e : env_storage) {
            envp.push_back(e.data());
        }
        envp.push_back(nullptr);
    }
};

int decode_status(int status) {
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return -1;
}

[[noreturn]] void child_exec(const ExecImage& image, int out_fd, int err_fd, pid_t parent) {
    prepare_forked_child(parent, out_fd, err_fd);
    ::execve(image.argv[0], image.argv.data(), image.envp.data());
    const char message[] = "exec failed\n";
    [[maybe_unused]] auto n = ::write(2, message, sizeof(message) - 1);
    ::_exit(127);
}

}  // namespace

Process::Process(std::vector<std::string> argv,
                 std::filesystem::path log_file,
                 std::map<std::string, std::string> env)
    : log_file_(std::move(log_file)) {
    ExecImage image(argv, env);
    const int fd = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw std::system_error(errno, std::generic_category(), "open " + log_file_.string());
    }
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
        const int error = errno;
        ::close(fd);
        throw std::system_error(error, std::generic_category(), "fork");
    }
    if (pid_ == 0) {
        child_exec(image, fd, fd, parent);
    }
    ::close(fd);
}

Process::~Process() {
    if (pid_ > 0 && !status_) {
        ::kill(pid_, SIGKILL);
        reap(true);
    }
}

std::string Process::log() const {
    std::ifstream in(log_file_);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

bool Process::reap(bool block) {
    if (status_) {
        return true;
    }
    int status = 0;
    for (;;) {
        const pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
        if (r == pid_) {
            status_ = decode_status(status);
            return true;
        }
        if (r < 0 && errno == EINTR) {
            continue;
        }
        return false;
    }
}

bool Process::is_running() {
    return !reap(false);
}

void Process::kill(int signal) {
    if (!status_) {
        ::kill(pid_, signal);
    }
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!reap(false)) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return status_;
}

CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout,
                          const std::map<std::string, std::string>& env) {
    ExecImage image(argv, env);
    int out_pipe[2];
    int err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        throw std::system_error(errno, std::generic_category(), "pipe");
    }
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        const int error = errno;
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        throw std::system_error(error, std::generic_category(), "pipe");
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        throw std::system_error(errno, std::generic_category(), "fork");
    }
    if (pid == 0) {
        child_exec(image, out_pipe[1], err_pipe[1], parent);
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);

    CommandResult result;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool killed = false;
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        const auto left = time_left(deadline);
        if (left.count() <= 0) {
            ::kill(pid, SIGKILL);
            killed = true;
            break;
        }
        const int n = ::poll(fds, 2, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) {
                continue;
            }
            char buffer[4096];
            const ssize_t got = ::read(fds[i].fd, buffer, sizeof(buffer));
            if (got > 0) {
                (i == 0 ? result.out : result.err).append(buffer, static_cast<std::size_t>(got));
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    for (auto& fd : fds) {
        if (fd.fd >= 0) {
            ::close(fd.fd);
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = killed ? -1 : decode_status(status);
    return result;
}

}  // namespace agentlb::test
