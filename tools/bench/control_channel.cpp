#include "tools/bench/control_channel.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace agentlb::bench {

ControlChannel::~ControlChannel() {
    ::close(fd_);
}

Status ControlChannel::send(const nlohmann::json& message) {
    const std::string line = message.dump() + "\n";
    std::size_t sent = 0;
    while (sent < line.size()) {
        const ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(std::string("worker channel: ") + std::strerror(errno));
        }
        sent += static_cast<std::size_t>(n);
    }
    return success();
}

Result<nlohmann::json> ControlChannel::receive(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        const auto newline = buffer_.find('\n');
        if (newline != std::string::npos) {
            std::string line = buffer_.substr(0, newline);
            buffer_.erase(0, newline + 1);
            try {
                return nlohmann::json::parse(line);
            } catch (const std::exception& e) {
                return fail(std::string("worker sent unreadable JSON: ") + e.what());
            }
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return fail("worker did not answer in time");
        }
        pollfd p{fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 1000)));
        if (ready < 0 && errno != EINTR) {
            return fail(std::string("worker channel: ") + std::strerror(errno));
        }
        if (ready <= 0) {
            continue;
        }
        char chunk[65536];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n == 0) {
            return fail("worker exited");
        }
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            return fail(std::string("worker channel: ") + std::strerror(errno));
        }
        buffer_.append(chunk, static_cast<std::size_t>(n));
    }
}

}  // namespace agentlb::bench
