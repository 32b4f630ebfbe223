#pragma once

// Time as the protocol core sees it: values handed in by the drivers, never
// read from a clock here, so tests script any moment they like.

#include <chrono>

namespace agentlb::protocol {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

}  // namespace agentlb::protocol
