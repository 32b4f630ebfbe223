#pragma once

// Failed enrollment attempts per source address, so one sender cannot guess
// tokens at line rate or flood the log.
//
// Each failure (a refusal the request caused: wrong, used, expired or
// malformed token, bad name, bad CSR, bad frame) adds window/max_failures of
// "debt" to its address; debt drains in real time. An address holding more
// than window - window/max_failures of debt is limited: max_failures failures
// in a burst, then one more every window/max_failures (10 per minute, then one
// every 6 s, with the defaults). Requests refused as limited add no debt.
//
// The table holds at most max_addresses entries. A failure from a new address
// when it is full first drops entries whose debt has drained, then the entry
// with the least debt (the one closest to being forgiven anyway).
//
// Times are passed in, so tests need no clock. Safe to use from any thread.

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace agentlb::mgmt {

class EnrollRateLimit {
public:
    using Clock = std::chrono::steady_clock;

    struct Limits {
        std::size_t max_failures = 10;
        std::chrono::seconds window{60};
        std::size_t max_addresses = 4096;
    };

    enum class Verdict {
        allowed,
        refused_first,  // the first refusal since the address became limited: log it
        refused,        // counted for the summary only
    };

    struct Summary {
        std::uint64_t refused = 0;
        std::size_t addresses = 0;
        std::string top;  // the address refused most often ("" when none)
        std::uint64_t top_refused = 0;
    };

    EnrollRateLimit();  // the defaults of Limits
    explicit EnrollRateLimit(Limits limits);

    // The key an address is limited under: an IPv4 address (also IPv4-mapped
    // IPv6) as it is, an IPv6 address by its /64, since one site holds a
    // whole /64 and can pick any address in it.
    static std::string source_key(const boost::asio::ip::address& address);

    // Whether a request from `key` may go on; a refusal is counted for the summary.
    Verdict check(const std::string& key, Clock::time_point now);
    // A refusal the request caused.
    void record_failure(const std::string& key, Clock::time_point now);

    // The refusals counted since the previous call; drops drained entries.
    Summary take_summary(Clock::time_point now);

    std::size_t size() const;
    const Limits& limits() const { return limits_; }

private:
    struct Entry {
        Clock::time_point debt_until;  // when the debt has drained
        bool announced = false;
        std::uint64_t refused = 0;  // since the last summary
    };

    bool limited(const Entry& entry, Clock::time_point now) const;
    void make_room(Clock::time_point now);

    Limits limits_;
    Clock::duration cost_;       // debt per failure: window / max_failures
    Clock::duration tolerance_;  // debt allowed: window - cost_
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
    // Refusals of entries evicted before the summary counted them.
    std::uint64_t evicted_refused_ = 0;
    std::size_t evicted_addresses_ = 0;
};

}  // namespace agentlb::mgmt
