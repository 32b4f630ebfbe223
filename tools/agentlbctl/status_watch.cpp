#include "tools/agentlbctl/status_watch.hpp"

#include <cerrno>
#include <csignal>
#include <ctime>
#include <system_error>

namespace agentlb::ctl {
namespace {

// Blocks SIGINT and SIGTERM while alive: a signal that arrives during a
// draw waits, pending, for the next sigtimedwait.
class BlockedStopSignals {
public:
    BlockedStopSignals() {
        sigemptyset(&stop_);
        sigaddset(&stop_, SIGINT);
        sigaddset(&stop_, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &stop_, &previous_) != 0) {
            throw std::system_error(errno, std::generic_category(), "blocking SIGINT and SIGTERM");
        }
    }
    ~BlockedStopSignals() { sigprocmask(SIG_SETMASK, &previous_, nullptr); }
    BlockedStopSignals(const BlockedStopSignals&) = delete;
    BlockedStopSignals& operator=(const BlockedStopSignals&) = delete;

    // The stop signal taken within `wait`, or 0 when none came.
    int take(std::chrono::nanoseconds wait) const {
        if (wait.count() < 0) {
            wait = std::chrono::nanoseconds(0);
        }
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(wait);
        timespec timeout{};
        timeout.tv_sec = static_cast<time_t>(seconds.count());
        timeout.tv_nsec = static_cast<long>((wait - seconds).count());
        const int signal = sigtimedwait(&stop_, nullptr, &timeout);
        if (signal > 0) {
            return signal;
        }
        // EAGAIN: the wait ended; EINTR: another signal's handler ran, and
        // the caller's schedule decides how long to wait again.
        if (errno != EAGAIN && errno != EINTR) {
            throw std::system_error(errno, std::generic_category(), "waiting for SIGINT or SIGTERM");
        }
        return 0;
    }

private:
    sigset_t stop_{};
    sigset_t previous_{};
};

}  // namespace

int watch_until_stopped(std::chrono::milliseconds period, const std::function<void()>& draw) {
    const BlockedStopSignals signals;
    auto next = std::chrono::steady_clock::now();
    for (;;) {
        draw();
        next += period;
        // A draw longer than the period: draw again at once, from now on.
        const auto now = std::chrono::steady_clock::now();
        if (next < now) {
            next = now;
        }
        while (std::chrono::steady_clock::now() < next) {
            if (const int signal = signals.take(next - std::chrono::steady_clock::now())) {
                return signal;
            }
        }
        if (const int signal = signals.take(std::chrono::nanoseconds(0))) {
            return signal;
        }
    }
}

}  // namespace agentlb::ctl
