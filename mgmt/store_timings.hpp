#pragma once

// agentlb_store_operation_duration_seconds{operation} and
// agentlb_store_errors_total{operation}: every call of the store (TimedStore)
// by the Store method's name. An operation shows once it ran; an error is a
// StoreError (the database failed), not a refusal returned as a Result.

#include "mgmt/metrics.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace agentlb::mgmt {

class StoreTimings {
public:
    void observe(std::string_view operation, double seconds, bool failed);

    std::uint64_t calls(std::string_view operation) const;
    std::uint64_t errors(std::string_view operation) const;

    // Both families ("" before the first call). Any thread.
    std::string render() const;

private:
    struct Operation {
        Histogram duration;
        std::atomic<std::uint64_t> errors{0};
    };
    const Operation* find(std::string_view operation) const;

    mutable std::mutex mutex_;
    // Entries are never removed: a pointer stays valid once looked up.
    std::map<std::string, std::unique_ptr<Operation>, std::less<>> operations_;
};

}  // namespace agentlb::mgmt
