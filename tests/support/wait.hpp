#pragma once

// Waiting with a hard cap, so a test can never hang.

#include <chrono>
#include <functional>
#include <thread>

namespace agentlb::test {

// What is left of the time until `deadline`; zero or less once it has passed.
inline std::chrono::milliseconds time_left(std::chrono::steady_clock::time_point deadline) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
}

inline bool wait_until(const std::function<bool()>& predicate,
                       std::chrono::milliseconds timeout,
                       std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (predicate()) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(poll);
    }
}

}  // namespace agentlb::test
