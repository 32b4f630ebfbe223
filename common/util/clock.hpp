#pragma once

// The one reading of the wall clock as the store, certificates and messages
// count time: whole seconds since the Unix epoch.

#include <chrono>
#include <cstdint>

namespace agentlb::util {

inline std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace agentlb::util
