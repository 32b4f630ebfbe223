#include "mgmt/store_health.hpp"

namespace agentlb::mgmt {

StoreHealth::StoreHealth(Clock::time_point now, Clock::duration stale_after)
    : stale_after_(stale_after), last_success_(now) {}

bool StoreHealth::record_success(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    const bool changed = failure_.has_value();
    failure_.reset();
    last_success_ = now;
    return changed;
}

bool StoreHealth::record_failure(const std::string& reason, Clock::time_point) {
    std::lock_guard lock(mutex_);
    const bool changed = failure_ != reason;
    failure_ = reason;
    return changed;
}

std::optional<std::string> StoreHealth::problem(Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    if (failure_) {
        return "the store cannot be read: " + *failure_;
    }
    if (now - last_success_ > stale_after_) {
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - last_success_).count();
        return "the store has not answered for " + std::to_string(seconds) + " s";
    }
    return std::nullopt;
}

}  // namespace agentlb::mgmt
