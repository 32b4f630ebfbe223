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

StoreHealth::Failure StoreHealth::record_failure(const std::string& reason, Clock::time_point) {
    std::lock_guard lock(mutex_);
    const Failure failure = !failure_             ? Failure::began
                            : *failure_ != reason ? Failure::new_reason
                                                  : Failure::same;
    failure_ = reason;
    return failure;
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

namespace agentlb::mgmt {

std::optional<StoreHealth::Clock::duration> StoreHealth::unreachable_for(Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    if (failure_ || now - last_success_ > stale_after_) {
        return now - last_success_;
    }
    return std::nullopt;
}

}  // namespace agentlb::mgmt
