#pragma once

// A duration as log and error messages show it.

#include <chrono>
#include <string>

namespace agentlb::util {

inline std::string milliseconds_text(std::chrono::milliseconds duration) {
    return std::to_string(duration.count()) + " ms";
}

}  // namespace agentlb::util
