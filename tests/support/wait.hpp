#pragma once

// Polls a condition with a hard cap, so a test can never hang on it.

#include <chrono>
#include <functional>
#include <thread>

namespace agentlb::test {

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
