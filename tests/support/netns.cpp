#include "tests/support/netns.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sched.h>
#include <sstream>
#include <stdexcept>
#include <sys/types.h>
#include <thread>
#include <unistd.h>

namespace agentlb::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string joined(const std::vector<std::string>& args) {
    std::string out;
    for (const auto& a : args) {
        out += (out.empty() ? "" : " ") + a;
    }
    return out;
}

std::vector<std::string> ip_argv(const std::vector<std::string>& args) {
    std::vector<std::string> argv{ip_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

// The pids of the processes inside namespace `name` (`ip netns pids`).
std::vector<pid_t> pids_inside(const std::string& name) {
    std::vector<pid_t> pids;
    const auto result = run_command(ip_argv({"netns", "pids", name}), 5s);
    std::istringstream in(result.out);
    long pid = 0;
    while (in >> pid) {
        if (pid > 1 && pid != ::getpid()) {
            pids.push_back(static_cast<pid_t>(pid));
        }
    }
    return pids;
}

// Kills what runs inside `name` and deletes it; quiet, for destructors.
void remove_namespace(const std::string& name) {
    for (const pid_t pid : pids_inside(name)) {
        ::kill(pid, SIGKILL);
    }
    const auto result = run_command(ip_argv({"netns", "delete", name}), 5s);
    if (result.exit_code != 0) {
        std::fprintf(stderr, "could not delete network namespace %s: %s\n", name.c_str(), result.err.c_str());
    }
}

// A zombie counts as dead: a crashed test not yet reaped by its parent.
bool pid_alive(pid_t pid) {
    if (::kill(pid, 0) != 0 && errno != EPERM) {
        return false;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    return close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'Z';
}

}  // namespace

std::string ip_binary() {
    for (const char* candidate : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
        if (::access(candidate, X_OK) == 0) {
            return candidate;
        }
    }
    return "";
}

void run_ip(const std::vector<std::string>& args) {
    if (ip_binary().empty()) {
        throw std::runtime_error("iproute2 (the `ip` command) is not installed");
    }
    const auto result = run_command(ip_argv(args), 10s);
    if (result.exit_code != 0) {
        throw std::runtime_error("ip " + joined(args) + " failed (exit " + std::to_string(result.exit_code) +
                                 "): " + result.err);
    }
}

std::string netns_unavailable() {
    static std::once_flag once;
    static std::string reason;
    std::call_once(once, [] {
        if (ip_binary().empty()) {
            reason = "iproute2 (the `ip` command) is not installed";
            return;
        }
        const std::string probe = std::string(NetLab::kFamily) + std::to_string(::getpid()) + "-probe";
        const auto added = run_command(ip_argv({"netns", "add", probe}), 10s);
        if (added.exit_code != 0) {
            reason = "cannot create a network namespace (needs root or CAP_NET_ADMIN): " + added.err;
            while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) {
                reason.pop_back();
            }
            return;
        }
        // A veth pair too: a kernel without veth cannot link machines.
        const auto veth = run_command(
            ip_argv({"-n", probe, "link", "add", "name", "probe0", "type", "veth", "peer", "name", "probe1"}),
            10s);
        if (veth.exit_code != 0) {
            reason = "cannot create a veth pair in a network namespace: " + veth.err;
        }
        run_command(ip_argv({"netns", "delete", probe}), 10s);
    });
    return reason;
}

void report_skipped(const std::string& what, const std::string& reason) {
    std::printf("%s: %s: %s\n", kSkipMarker, what.c_str(), reason.c_str());
    std::fflush(stdout);
}

NetLab::NetLab() {
    static std::atomic<int> counter{0};
    remove_stale();
    prefix_ = std::string(kFamily) + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-";
}

int NetLab::remove_stale() {
    int removed = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/run/netns", ec)) {
        const auto name = entry.path().filename().string();
        const std::string family = kFamily;
        if (name.rfind(family, 0) != 0) {
            continue;
        }
        // agentlb-nt-<pid>-...
        const auto rest = name.substr(family.size());
        char* end = nullptr;
        const long pid = std::strtol(rest.c_str(), &end, 10);
        if (end == rest.c_str() || *end != '-' || pid <= 0) {
            continue;
        }
        if (static_cast<pid_t>(pid) == ::getpid() || pid_alive(static_cast<pid_t>(pid))) {
            continue;
        }
        remove_namespace(name);
        ++removed;
    }
    return removed;
}

Namespace::Namespace(std::string name) : name_(std::move(name)) {
    run_ip({"netns", "add", name_});
    try {
        ip({"link", "set", "lo", "up"});
    } catch (...) {
        remove_namespace(name_);
        throw;
    }
}

Namespace::~Namespace() {
    remove_namespace(name_);
}

std::vector<std::string> Namespace::command(const std::vector<std::string>& argv) const {
    std::vector<std::string> out{ip_binary(), "netns", "exec", name_};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
}

void Namespace::ip(const std::vector<std::string>& args) const {
    std::vector<std::string> all{"-n", name_};
    all.insert(all.end(), args.begin(), args.end());
    run_ip(all);
}

CommandResult Namespace::run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) const {
    return run_command(command(argv), timeout);
}

void Namespace::enter_void(const std::function<void()>& fn) const {
    std::exception_ptr failure;
    std::thread worker([&] {
        try {
            const std::string path = "/run/netns/" + name_;
            const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                throw std::runtime_error("open " + path + ": " + std::strerror(errno));
            }
            // Only this thread moves: the namespace is a per-thread attribute.
            const int joined_ns = ::setns(fd, CLONE_NEWNET);
            const int error = errno;
            ::close(fd);
            if (joined_ns != 0) {
                throw std::runtime_error("setns " + name_ + ": " + std::strerror(error));
            }
            fn();
        } catch (...) {
            failure = std::current_exception();
        }
    });
    worker.join();
    if (failure) {
        std::rethrow_exception(failure);
    }
}

void Namespace::link_down() const {
    ip({"link", "set", "eth0", "down"});
}

void Namespace::link_up() const {
    ip({"link", "set", "eth0", "up"});
}

void Namespace::drop_to(const std::string& address) const {
    ip({"route", "add", "blackhole", address + "/32"});
}

void Namespace::undrop(const std::string& address) const {
    ip({"route", "del", "blackhole", address + "/32"});
}

Switch::Switch(std::string name) : ns_(std::move(name)) {
    ns_.ip({"link", "add", "name", "br0", "type", "bridge"});
    ns_.ip({"link", "set", "br0", "up"});
}

void Switch::plug(const Namespace& machine, const std::string& cidr) {
    // Made here with its peer straight in `machine`: neither end ever exists
    // in the root namespace, so parallel runs cannot clash on a name.
    const std::string port = "p" + std::to_string(++ports_);
    ns_.ip({"link", "add", "name", port, "type", "veth", "peer", "name", "eth0", "netns", machine.name()});
    ns_.ip({"link", "set", port, "master", "br0", "up"});
    machine.ip({"addr", "add", cidr, "dev", "eth0"});
    machine.ip({"link", "set", "eth0", "up"});
}

}  // namespace agentlb::test
