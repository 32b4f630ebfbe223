#pragma once

// What agentlb-mgmt sets up for its process before the server starts, and
// how it names an endpoint in its messages.

#include <boost/asio/ip/tcp.hpp>

#include <spdlog/common.h>

#include <string>

namespace agentlb::mgmt {

// One stderr logger with timestamps, flushed on every line (journald).
void setup_logging(spdlog::level::level_enum level);

// Each agent holds a descriptor: the soft open-file limit is raised to the
// hard one.
void raise_file_limit();

// "127.0.0.1:8250", "[::1]:8250".
std::string endpoint_text(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace agentlb::mgmt
