#pragma once

// Boost 1.74's <boost/asio/awaitable.hpp> uses std::exchange without
// including <utility>; headers of mgmt/ include awaitable through this file
// so their include order does not matter.

// clang-format off
#include <utility>
#include <boost/asio/awaitable.hpp>
// clang-format on
