#include "mgmt/enroll_rate_limit.hpp"

#include <algorithm>

namespace agentlb::mgmt {

EnrollRateLimit::EnrollRateLimit() : EnrollRateLimit(Limits{}) {}

EnrollRateLimit::EnrollRateLimit(Limits limits)
    : limits_(limits),
      cost_(std::chrono::duration_cast<Clock::duration>(limits.window) /
            static_cast<Clock::rep>(std::max<std::size_t>(limits.max_failures, 1))),
      tolerance_(std::chrono::duration_cast<Clock::duration>(limits.window) - cost_) {}

std::string EnrollRateLimit::source_key(const boost::asio::ip::address& address) {
    if (address.is_v4()) {
        return address.to_string();
    }
    const auto v6 = address.to_v6();
    if (v6.is_v4_mapped()) {
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
    }
    auto bytes = v6.to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

bool EnrollRateLimit::limited(const Entry& entry, Clock::time_point now) const {
    return entry.debt_until - now > tolerance_;
}

EnrollRateLimit::Verdict EnrollRateLimit::check(const std::string& key, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        return Verdict::allowed;
    }
    Entry& entry = it->second;
    if (entry.debt_until <= now) {
        entry.announced = false;  // forgiven: a new burst is announced again
    }
    if (!limited(entry, now)) {
        return Verdict::allowed;
    }
    ++entry.refused;
    if (!entry.announced) {
        entry.announced = true;
        return Verdict::refused_first;
    }
    return Verdict::refused;
}

void EnrollRateLimit::record_failure(const std::string& key, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        if (entries_.size() >= limits_.max_addresses) {
            make_room(now);
        }
        it = entries_.emplace(key, Entry{now, false, 0}).first;
    }
    Entry& entry = it->second;
    entry.debt_until = std::max(entry.debt_until, now) + cost_;
}

void EnrollRateLimit::make_room(Clock::time_point now) {
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->second.debt_until <= now) {
            evicted_refused_ += it->second.refused;
            evicted_addresses_ += it->second.refused != 0 ? 1 : 0;
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
    if (entries_.size() < limits_.max_addresses || entries_.empty()) {
        return;
    }
    auto least = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
        return a.second.debt_until < b.second.debt_until;
    });
    evicted_refused_ += least->second.refused;
    evicted_addresses_ += least->second.refused != 0 ? 1 : 0;
    entries_.erase(least);
}

EnrollRateLimit::Summary EnrollRateLimit::take_summary(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    Summary summary;
    summary.refused = evicted_refused_;
    summary.addresses = evicted_addresses_;
    evicted_refused_ = 0;
    evicted_addresses_ = 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
        Entry& entry = it->second;
        if (entry.refused != 0) {
            summary.refused += entry.refused;
            ++summary.addresses;
            if (entry.refused > summary.top_refused) {
                summary.top_refused = entry.refused;
                summary.top = it->first;
            }
            entry.refused = 0;
        }
        if (entry.debt_until <= now) {
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
    return summary;
}

std::size_t EnrollRateLimit::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace agentlb::mgmt
