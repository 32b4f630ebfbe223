#include "tests/support/ports.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <fstream>
#include <netinet/in.h>
#include <random>
#include <stdexcept>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>

namespace agentlb::test {

namespace {

// Lowest port of the ranges tests pick from: above the well-known and most
// registered service ports a developer's machine may run.
constexpr int kLowestPick = 10000;

// The first port of the kernel's ephemeral range; 32768 (Linux's default)
// when it cannot be read.
int ephemeral_low() {
    std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
    int low = 0;
    int high = 0;
    if (range >> low >> high && low > 0) {
        return low;
    }
    return 32768;
}

// Binds 127.0.0.1:port (0 = the kernel's choice) and closes; the bound
// port, or 0 if it was taken.
std::uint16_t try_bind(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::system_error(errno, std::generic_category(), "socket");
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    socklen_t length = sizeof(address);
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                       ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    const int error = errno;
    ::close(fd);
    if (!bound && port == 0) {
        throw std::system_error(error, std::generic_category(), "bind 127.0.0.1:0");
    }
    return bound ? ntohs(address.sin_port) : 0;
}

}  // namespace

std::uint16_t free_port() {
    const int high = ephemeral_low() - 1;
    if (high - kLowestPick >= 1000) {
        thread_local std::mt19937 random(std::random_device{}() ^ static_cast<unsigned>(::getpid()));
        std::uniform_int_distribution<int> pick(kLowestPick, high);
        for (int attempt = 0; attempt < 50; ++attempt) {
            if (const auto port = try_bind(static_cast<std::uint16_t>(pick(random))); port != 0) {
                return port;
            }
        }
    }
    return try_bind(0);
}

std::string loopback(std::uint16_t port) {
    return "127.0.0.1:" + std::to_string(port);
}

}  // namespace agentlb::test
