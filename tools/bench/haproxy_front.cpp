#include "tools/bench/haproxy_front.hpp"

#include "tools/bench/mgmt_process.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <csignal>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace agentlb::bench {

namespace {

using Clock = std::chrono::steady_clock;

bool accepts(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
}

}  // namespace

std::string haproxy_config(const HaproxySettings& s) {
    std::string text = fmt::format(
        "# Written by agentlb-bench (kill-return scenario): agentlb-mgmt servers behind one address.\n"
        "global\n"
        "    maxconn {}\n"
        "\n"
        "defaults\n"
        "    mode tcp\n"
        "    timeout connect 2s\n"
        "    timeout client 1h\n"
        "    timeout server 1h\n"
        "    timeout check 1s\n"
        "    retries 3\n"
        "    option redispatch 1\n"
        "\n"
        "frontend agents\n"
        "    bind 127.0.0.1:{}\n"
        "    maxconn {}\n"
        "    default_backend agentlb_mgmt\n"
        "\n"
        "backend agentlb_mgmt\n"
        "    balance leastconn\n"
        "    option httpchk GET /healthz\n"
        "    default-server inter {}ms fall {} rise {}\n",
        s.max_connections + 100,
        s.listen_port,
        s.max_connections,
        s.check_interval.count(),
        s.fall,
        s.rise);
    for (const auto& server : s.servers) {
        text += fmt::format(
            "    server {} 127.0.0.1:{} check port {}\n", server.name, server.port, server.admin_port);
    }
    return text;
}

Result<std::unique_ptr<HaproxyProcess>> HaproxyProcess::start(const std::string& binary,
                                                              const HaproxySettings& settings,
                                                              const std::filesystem::path& config_path,
                                                              const std::filesystem::path& log_file,
                                                              std::chrono::seconds timeout) {
    if (::access(binary.c_str(), X_OK) != 0) {
        return fail("--haproxy " + binary + " is not an executable (install Debian's haproxy package)");
    }
    {
        std::ofstream out(config_path, std::ios::trunc);
        out << haproxy_config(settings);
        if (!out.flush()) {
            return fail("cannot write " + config_path.string());
        }
    }
    auto pid = spawn_child({binary, "-db", "-f", config_path.string()}, log_file, -1);
    if (!pid) {
        return fail("haproxy: " + pid.error());
    }
    std::unique_ptr<HaproxyProcess> process(new HaproxyProcess(*pid, settings.listen_port));
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (process->reaped(std::chrono::milliseconds(0))) {
            return fail(binary + " exited at start (config " + config_path.string() + "); its log says:\n" +
                        tail_of(log_file));
        }
        if (accepts(settings.listen_port)) {
            return process;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return fail(fmt::format("haproxy did not listen on 127.0.0.1:{} within {} s; its log says:\n{}",
                            settings.listen_port,
                            timeout.count(),
                            tail_of(log_file)));
}

bool HaproxyProcess::reaped(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!reaped_) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            reaped_ = true;
        } else if (Clock::now() >= deadline) {
            break;
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    return reaped_;
}

HaproxyProcess::~HaproxyProcess() {
    if (reaped_) {
        return;
    }
    ::kill(pid_, SIGTERM);
    if (!reaped(std::chrono::seconds(5))) {
        ::kill(pid_, SIGKILL);
        (void)reaped(std::chrono::seconds(5));
    }
}

}  // namespace agentlb::bench
