#pragma once

// The coordinator's end of a worker's control channel: a socketpair carrying
// one JSON object per line each way.

#include "common/util/result.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

namespace agentlb::bench {

class ControlChannel {
public:
    explicit ControlChannel(int fd) : fd_(fd) {}
    ~ControlChannel();
    ControlChannel(const ControlChannel&) = delete;
    ControlChannel& operator=(const ControlChannel&) = delete;

    Status send(const nlohmann::json& message);
    // The next line as JSON, or a failure when the worker closed the channel,
    // sent something unreadable, or said nothing before `deadline`.
    Result<nlohmann::json> receive(std::chrono::steady_clock::time_point deadline);

private:
    int fd_;
    std::string buffer_;
};

}  // namespace agentlb::bench
