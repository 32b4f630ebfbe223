#include "common/protocol/connection_policy.hpp"

#include "common/lb/endpoint.hpp"
#include "common/protocol/push_back.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace agentlb::protocol {

std::chrono::milliseconds apply_jitter(std::chrono::milliseconds base, double fraction, double r) {
    r = std::clamp(r, 0.0, 1.0);
    const double scaled = static_cast<double>(base.count()) * (1.0 + fraction * (2.0 * r - 1.0));
    return std::chrono::milliseconds(std::max<std::int64_t>(0, std::llround(scaled)));
}

std::chrono::milliseconds push_back_wait(std::chrono::milliseconds retry_after, double r) {
    r = std::clamp(r, 0.0, 1.0);
    const double scaled = static_cast<double>(retry_after.count()) * (1.0 + kPushBackSpread * r);
    return std::chrono::milliseconds(std::max<std::int64_t>(0, std::llround(scaled)));
}

Backoff::Backoff(BackoffSettings settings) : settings_(settings), base_(settings.initial) {}

std::chrono::milliseconds Backoff::next(double r) {
    const auto wait = apply_jitter(base_, settings_.jitter, r);
    const double grown = static_cast<double>(base_.count()) * settings_.factor;
    base_ = std::min(settings_.cap, std::chrono::milliseconds(std::llround(grown)));
    return wait;
}

void Backoff::reset() {
    base_ = settings_.initial;
}

bool same_server(std::string_view a, std::string_view b) {
    return a == b || lb::same_endpoint(a, b);
}

ConnectionPolicy::ConnectionPolicy(BackoffSettings backoff) : backoff_(backoff) {}

void ConnectionPolicy::set_hosts(std::vector<std::string> hosts) {
    hosts_ = std::move(hosts);
}

void ConnectionPolicy::set_avoid(std::vector<std::string> avoid) {
    avoid_ = std::move(avoid);
}

void ConnectionPolicy::set_algorithm(std::string algorithm) {
    algorithm_ = std::move(algorithm);
}

bool ConnectionPolicy::avoided(std::string_view entry) const {
    return std::any_of(
        avoid_.begin(), avoid_.end(), [&](const std::string& a) { return same_server(a, entry); });
}

std::vector<std::string> ConnectionPolicy::candidates() const {
    std::vector<std::string> result;
    result.reserve(hosts_.size());
    for (const auto& h : hosts_) {
        if (!avoided(h)) {
            result.push_back(h);
        }
    }
    for (const auto& h : hosts_) {
        if (avoided(h)) {
            result.push_back(h);
        }
    }
    return result;
}

std::vector<std::string> ConnectionPolicy::candidates_excluding(std::string_view current) const {
    auto result = candidates();
    std::erase_if(result, [&](const std::string& h) { return same_server(h, current); });
    return result;
}

bool ConnectionPolicy::contains(std::string_view entry) const {
    return std::any_of(
        hosts_.begin(), hosts_.end(), [&](const std::string& h) { return same_server(h, entry); });
}

std::optional<std::string> ConnectionPolicy::preferred() const {
    auto all = candidates();
    if (all.empty()) {
        return std::nullopt;
    }
    return all.front();
}

bool ConnectionPolicy::preferred_check_on() const {
    // CloudStack's Agent schedules its preferred-host task with interval 0
    // for a list that came with "shuffle" (exact, case-sensitive name).
    return algorithm_ != "shuffle";
}

bool ConnectionPolicy::should_try_preferred(std::string_view current) const {
    if (!preferred_check_on()) {
        return false;
    }
    auto first = preferred();
    return first && !same_server(*first, current);
}

void ConnectionPolicy::pushed_back(std::string_view entry, std::chrono::milliseconds retry_after) {
    retry_after = std::clamp(retry_after, std::chrono::milliseconds(0), kMaxRetryAfter);
    if (!pass_retry_after_ || retry_after < *pass_retry_after_) {
        pass_retry_after_ = retry_after;
        soonest_ = std::string(entry);
    }
}

std::chrono::milliseconds ConnectionPolicy::pass_failed(double r) {
    const auto retry_after = std::exchange(pass_retry_after_, std::nullopt);
    retry_first_ = std::exchange(soonest_, {});
    if (retry_after) {
        return push_back_wait(*retry_after, r);
    }
    return backoff_.next(r);
}

std::vector<std::string> ConnectionPolicy::pass_candidates() const {
    auto result = candidates();
    if (retry_first_.empty()) {
        return result;
    }
    const auto first = std::find_if(
        result.begin(), result.end(), [this](const std::string& h) { return same_server(h, retry_first_); });
    if (first != result.end()) {
        std::rotate(result.begin(), first, first + 1);
    }
    return result;
}

void ConnectionPolicy::connected() {
    backoff_.reset();
    pass_retry_after_.reset();
    soonest_.clear();
    retry_first_.clear();
}

std::optional<std::chrono::milliseconds> ConnectionPolicy::preferred_check_delay(
    std::int64_t interval_seconds, double r) const {
    if (interval_seconds <= 0 || !preferred_check_on()) {
        return std::nullopt;
    }
    return apply_jitter(std::chrono::seconds(interval_seconds), kPreferredCheckJitter, r);
}

}  // namespace agentlb::protocol
