#include "mgmt/admission.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace agentlb::mgmt {

namespace {

std::int64_t seconds_of(RateWindow::TimePoint t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

void RateWindow::roll(TimePoint now) {
    const std::int64_t bucket = seconds_of(now);
    if (bucket == bucket_) {
        return;
    }
    previous_ = bucket == bucket_ + 1 ? current_ : 0;
    current_ = 0;
    bucket_ = bucket;
}

void RateWindow::add(TimePoint now, std::uint64_t n) {
    if (last_second(now) <= 0.0) {
        started_ = now;
    }
    roll(now);
    current_ += n;
}

double RateWindow::per_second(TimePoint now) const {
    const double events = last_second(now);
    if (events <= 0.0) {
        return 0.0;
    }
    const double since = std::chrono::duration<double>(now - started_).count();
    return events / std::clamp(since, 0.1, 1.0);
}

bool RateWindow::whole_second(TimePoint now) const {
    return last_second(now) > 0.0 && now - started_ >= std::chrono::seconds(1);
}

double RateWindow::last_second(TimePoint now) const {
    const std::int64_t bucket = seconds_of(now);
    std::uint64_t current = current_;
    std::uint64_t previous = previous_;
    if (bucket != bucket_) {
        previous = bucket == bucket_ + 1 ? current_ : 0;
        current = 0;
    }
    const auto into = now.time_since_epoch() - std::chrono::seconds(bucket);
    const double elapsed = std::chrono::duration<double>(into).count();
    return static_cast<double>(current) + static_cast<double>(previous) * (1.0 - elapsed);
}

Admission::Slot::Slot(Slot&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}

Admission::Slot& Admission::Slot::operator=(Slot&& other) noexcept {
    if (this != &other) {
        release();
        owner_ = std::exchange(other.owner_, nullptr);
    }
    return *this;
}

void Admission::Slot::release() noexcept {
    if (Admission* owner = std::exchange(owner_, nullptr)) {
        owner->finished();
    }
}

Admission::Admission(Metrics& metrics, int io_threads, std::function<Clock::time_point()> clock)
    : metrics_(metrics), io_threads_(std::max(1, io_threads)), clock_(std::move(clock)) {}

std::int64_t Admission::limit_for(std::int64_t configured) const {
    return configured > 0 ? configured : kAutoPerThread * io_threads_;
}

double Admission::peak_locked(Clock::time_point now) const {
    const double age = std::chrono::duration<double>(now - peak_at_).count();
    const double half_life = std::chrono::duration<double>(kPeakHalfLife).count();
    return peak_ * std::exp2(-std::max(0.0, age) / half_life);
}

double Admission::capacity_locked(std::int64_t limit, Clock::time_point now) const {
    // Past the auto limit, a stored limit says nothing of the speed.
    const auto assumed = static_cast<double>(std::clamp<std::int64_t>(limit, 1, kAutoPerThread * io_threads_));
    return std::max({finished_.per_second(now), peak_locked(now), assumed});
}

double Admission::capacity(std::int64_t limit) const {
    std::lock_guard lock(mutex_);
    return capacity_locked(limit, clock_());
}

Admission::Slot Admission::try_admit(std::int64_t limit) {
    // Only the acceptor adds: the check and the add cannot race past the limit.
    if (metrics_.handshakes_inflight.load() < limit) {
        metrics_.handshakes_inflight.fetch_add(1);
        metrics_.handshakes_admitted.fetch_add(1);
        return Slot(this);
    }
    metrics_.handshakes_pushed_back.fetch_add(1);
    std::lock_guard lock(mutex_);
    ++unlogged_;
    return Slot();
}

void Admission::finished() noexcept {
    metrics_.handshakes_inflight.fetch_sub(1);
    try {
        std::lock_guard lock(mutex_);
        const auto now = clock_();
        finished_.add(now);
        if (finished_.whole_second(now)) {
            const double rate = finished_.last_second(now);
            if (rate >= peak_locked(now)) {
                peak_ = rate;
                peak_at_ = now;
            }
        }
    } catch (...) {
        // A clock or mutex failure only costs one sample of the rate.
    }
}

std::chrono::milliseconds Admission::retry_after(std::int64_t limit) {
    std::lock_guard lock(mutex_);
    const auto now = clock_();
    const double rate = capacity_locked(limit, now);
    // Those told to come back earlier are due by now, at the capacity.
    const double elapsed = std::max(0.0, std::chrono::duration<double>(now - queued_at_).count());
    queued_ = std::max(0.0, queued_ - elapsed * rate);
    queued_at_ = now;
    const double horizon = std::chrono::duration<double>(kMaxRetryAfter).count();
    const double wait = (queued_ + 1.0) / rate;
    if (wait >= horizon) {
        return kMaxRetryAfter;
    }
    queued_ += 1.0;
    const auto ms = static_cast<std::int64_t>(std::llround(wait * 1000.0));
    return std::clamp(std::chrono::milliseconds(ms), kMinRetryAfter, kMaxRetryAfter);
}

std::uint64_t Admission::take_log_count() {
    std::lock_guard lock(mutex_);
    const auto now = clock_();
    if (unlogged_ == 0 || (logged_at_ && now - *logged_at_ < std::chrono::seconds(1))) {
        return 0;
    }
    logged_at_ = now;
    return std::exchange(unlogged_, 0);
}

}  // namespace agentlb::mgmt
