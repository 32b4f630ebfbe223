#pragma once

// What agentlb-mgmt sets up for its process before the server starts, and
// how it names an endpoint in its messages.

#include "common/util/result.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <spdlog/common.h>

#include <stdexcept>
#include <string>

namespace agentlb::mgmt {

// One stderr logger with timestamps, flushed on every line (journald).
void setup_logging(spdlog::level::level_enum level);

// Each agent holds a descriptor: the soft open-file limit is raised to the
// hard one.
void raise_file_limit();

// A start-up failure: its message is for the operator, and the exit code is 2.
struct StartError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The value, or a StartError "what: reason".
template <class T>
T start_value(Result<T> result, const std::string& what) {
    if (!result) {
        throw StartError(what + ": " + result.error());
    }
    return std::move(result).value();
}

// "127.0.0.1:8250", "[::1]:8250".
std::string endpoint_text(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace agentlb::mgmt
