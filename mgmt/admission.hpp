#pragma once

// Admission control on the agent port: at most `limit` handshakes (accept ..
// `welcome` sent, or the session's end before it) run at once; a connection
// beyond that is answered at once with a push-back line
// (common/protocol/push_back.hpp, written by push_back_writer.hpp) instead
// of joining a queue whose handshakes would time out in the agents.
//
// The retry-after told to a pushed-back agent is its place in a queue that
// drains at this server's capacity: the first connection pushed back in a
// surge is told 1 / capacity, the next 2 / capacity, and so on; the queue
// drains as time passes, so a connection pushed back later is told the end
// of what is still queued (docs/DESIGN.md "Admission control"). Within
// 50 ms .. 10 s: a connection beyond the 10 s horizon is told 10 s and not
// queued, so an estimate that was too low cannot promise long idle waits.
//
// The capacity never reads below what the server is known to manage: the
// largest of the completion rate over the last second, the peak rate of a
// whole second (kept, halving every 5 minutes), and the limit per second
// (the auto limit is about one second of full handshakes per thread). The
// start of a surge, when few handshakes have finished yet, is therefore not
// mistaken for a slow server; an estimate that is too high only costs a
// connection that comes back too early another cheap push-back.
//
// Thread-safe: the acceptor admits, the sessions' I/O threads release.

#include "mgmt/metrics.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

namespace agentlb::mgmt {

// Events in the last second, counted in whole-second buckets: the count of
// the current bucket plus the previous bucket's share of the last second.
class RateWindow {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    void add(TimePoint now, std::uint64_t n = 1);
    double last_second(TimePoint now) const;
    // Events a second: last_second() over the part of the last second since
    // the events began (at least 100 ms), so that the first moments of a
    // burst are not read as a tenth of its rate.
    double per_second(TimePoint now) const;
    // True once the events have gone on for a whole second: last_second() is
    // then a rate measured over a full second.
    bool whole_second(TimePoint now) const;

private:
    void roll(TimePoint now);

    std::int64_t bucket_ = 0;  // seconds since the clock's epoch
    std::uint64_t current_ = 0;
    std::uint64_t previous_ = 0;
    TimePoint started_{};  // the first event after a second without any
};

class Admission {
public:
    using Clock = std::chrono::steady_clock;

    // agentlb.handshake.max.inflight = 0: this many per I/O thread (docs/DESIGN.md
    // "Admission control" has the measurements behind the figure).
    static constexpr std::int64_t kAutoPerThread = 1024;
    static constexpr std::chrono::milliseconds kMinRetryAfter{50};
    static constexpr std::chrono::milliseconds kMaxRetryAfter{10'000};
    // The kept peak rate halves over this time, so a server that became
    // slower (a busier host) is believed again within minutes.
    static constexpr std::chrono::minutes kPeakHalfLife{5};

    // One admitted handshake, released once: at `welcome`, or when the
    // session ends before it (at the latest when the slot is destroyed).
    class Slot {
    public:
        Slot() = default;
        Slot(Slot&& other) noexcept;
        Slot& operator=(Slot&& other) noexcept;
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;
        ~Slot() { release(); }

        void release() noexcept;
        bool held() const noexcept { return owner_ != nullptr; }

    private:
        friend class Admission;
        explicit Slot(Admission* owner) : owner_(owner) {}
        Admission* owner_ = nullptr;
    };

    // `metrics` receives the admission counters and the in-progress gauge;
    // `clock` is for tests.
    Admission(Metrics& metrics, int io_threads, std::function<Clock::time_point()> clock = Clock::now);

    // The limit for a stored agentlb.handshake.max.inflight (0 = auto).
    std::int64_t limit_for(std::int64_t configured) const;

    // At accept: a held slot while fewer than `limit` handshakes are in
    // progress; an empty one means push back (counted, see retry_after()).
    Slot try_admit(std::int64_t limit);

    // What to tell the connection just refused by try_admit(); queues it.
    std::chrono::milliseconds retry_after(std::int64_t limit);

    // Handshakes a second this server is taken to finish (see above).
    double capacity(std::int64_t limit) const;

    // For the log: the connections pushed back since the last line, when the
    // last line is a second old or more (at most one line a second); else 0.
    std::uint64_t take_log_count();

    std::int64_t inflight() const { return metrics_.handshakes_inflight.load(); }

private:
    void finished() noexcept;
    double capacity_locked(std::int64_t limit, Clock::time_point now) const;
    double peak_locked(Clock::time_point now) const;

    Metrics& metrics_;
    const int io_threads_;
    const std::function<Clock::time_point()> clock_;
    mutable std::mutex mutex_;
    RateWindow finished_;
    double peak_ = 0.0;  // handshakes finished in a whole second, at peak_at_
    Clock::time_point peak_at_{};
    double queued_ = 0.0;  // connections told to come back and not yet due
    Clock::time_point queued_at_{};
    std::uint64_t unlogged_ = 0;
    std::optional<Clock::time_point> logged_at_;
};

}  // namespace agentlb::mgmt
