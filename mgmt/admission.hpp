#pragma once

// Admission control on the agent port: at most `limit` handshakes (accept ..
// `welcome` sent, or the session's end before it) run at once; a connection
// beyond that is answered at once with a push-back line
// (common/protocol/push_back.hpp, written by push_back_writer.hpp) instead
// of joining a queue whose handshakes would time out in the agents.
//
// The retry-after told to a pushed-back agent is its own slot in a stream:
// the server keeps a backlog of the connections it told to come back, drained
// at its capacity (handshakes it can finish a second); each push-back is told
// backlog / capacity (at least 50 ms, at most 60 s, the wire's bound) and
// adds one to the backlog. A burst of N push-backs thus gets N increasing
// waits 1 / capacity apart, and the agents come back as a stream the server
// can serve instead of all at once after one shared wait (which left the
// server idle while they sat it out). The backlog is counted in connections,
// not in time, so a better estimate of the capacity applies at once to the
// connections still waiting.
//
// Capacity: the larger of the completion rate measured over the current
// burst and limit / the recent handshake duration (Little's law: with
// `limit` handshakes in progress, which is when anything is pushed back,
// they finish at limit / duration a second). Before any handshake finished
// the duration is taken to be kAssumedDuration. While the server is full and
// nothing finishes (stalled handshakes), the time since it became full or
// since the last one finished counts as the duration, so the waits grow
// instead of calling agents back every 50 ms.
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

    // agentlb.handshake.max.inflight = 0: this many per I/O thread.
    static constexpr std::int64_t kAutoPerThread = 64;
    static constexpr std::chrono::milliseconds kMinRetryAfter{50};
    static constexpr std::chrono::milliseconds kMaxRetryAfter{60'000};
    static constexpr std::chrono::milliseconds kAssumedDuration{100};
    // Weight of the newest sample in the mean handshake duration.
    static constexpr double kDurationWeight = 1.0 / 64.0;

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
        Slot(Admission* owner, Clock::time_point admitted) : owner_(owner), admitted_(admitted) {}
        Admission* owner_ = nullptr;
        Clock::time_point admitted_{};
    };

    // `metrics` receives the admission counters and the in-progress gauge;
    // `clock` is for tests.
    Admission(Metrics& metrics, int io_threads, std::function<Clock::time_point()> clock = Clock::now);

    // The limit for a stored agentlb.handshake.max.inflight (0 = auto).
    std::int64_t limit_for(std::int64_t configured) const;

    // At accept: a held slot while fewer than `limit` handshakes are in
    // progress; an empty one means push back (counted, see retry_after()).
    Slot try_admit(std::int64_t limit);

    // What to tell the connection just refused by try_admit(): its slot in
    // the stream of connections told to come back (reserves it).
    std::chrono::milliseconds retry_after(std::int64_t limit);

    // Handshakes a second this server is estimated to finish at its best.
    double capacity(std::int64_t limit) const;

    // For the log: the connections pushed back since the last line, when the
    // last line is a second old or more (at most one line a second); else 0.
    std::uint64_t take_log_count();

    std::int64_t inflight() const { return metrics_.handshakes_inflight.load(); }

private:
    void finished(Clock::time_point admitted) noexcept;
    double capacity_locked(std::int64_t limit, Clock::time_point now) const;

    Metrics& metrics_;
    const int io_threads_;
    const std::function<Clock::time_point()> clock_;
    mutable std::mutex mutex_;
    RateWindow finished_;
    double mean_duration_ = 0.0;  // seconds; 0 = nothing finished yet
    double backlog_ = 0.0;        // connections told to come back, not yet due
    Clock::time_point last_finished_{};
    Clock::time_point full_since_{};  // the admit that took the last free slot
    Clock::time_point drained_at_{};
    std::uint64_t unlogged_ = 0;
    std::optional<Clock::time_point> logged_at_;
};

}  // namespace agentlb::mgmt
