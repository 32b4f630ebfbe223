// Admission control's counting (mgmt/admission): the limit, slots released
// once, the retry-after from the measured rate, the log's pacing. No sockets.

#include "mgmt/admission.hpp"

#include "mgmt/metrics.hpp"
#include "tests/support/net_probe.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace agentlb::mgmt;
using agentlb::test::metric_value;
using std::chrono::milliseconds;

namespace {

struct Bench {
    Metrics metrics;
    Admission::Clock::time_point now{std::chrono::hours(1)};
    Admission admission{metrics, 2, [this] { return now; }};
};

}  // namespace

TEST_CASE("admission: the auto limit is 1024 per I/O thread, a stored value wins") {
    Bench b;
    CHECK(b.admission.limit_for(0) == 2048);
    CHECK(b.admission.limit_for(1) == 1);
    CHECK(b.admission.limit_for(5000) == 5000);
    Metrics metrics;
    CHECK(Admission(metrics, 0).limit_for(0) == 1024);
}

TEST_CASE("admission: beyond the limit connections are pushed back until a slot is released") {
    Bench b;
    auto first = b.admission.try_admit(2);
    auto second = b.admission.try_admit(2);
    CHECK(first.held());
    CHECK(second.held());
    CHECK(b.admission.inflight() == 2);
    CHECK_FALSE(b.admission.try_admit(2).held());
    CHECK_FALSE(b.admission.try_admit(2).held());

    first.release();
    first.release();  // once only
    CHECK(b.admission.inflight() == 1);
    {
        auto third = b.admission.try_admit(2);
        CHECK(third.held());
        Admission::Slot moved = std::move(third);
        CHECK_FALSE(third.held());
        CHECK(b.admission.inflight() == 2);
    }
    CHECK(b.admission.inflight() == 1);  // the moved-to slot released at its end

    const auto text = b.metrics.render();
    CHECK(metric_value(text, "agentlb_handshake_admissions_total{result=\"admitted\"}") == 3.0);
    CHECK(metric_value(text, "agentlb_handshake_admissions_total{result=\"pushed_back\"}") == 2.0);
    CHECK(metric_value(text, "agentlb_handshakes_inflight") == 1.0);
}

TEST_CASE("admission: a lower limit stored while handshakes run pushes back until they are under it") {
    Bench b;
    std::vector<Admission::Slot> slots;
    for (int i = 0; i < 4; ++i) {
        slots.push_back(b.admission.try_admit(10));
    }
    CHECK_FALSE(b.admission.try_admit(3).held());
    slots.pop_back();
    CHECK_FALSE(b.admission.try_admit(3).held());
    slots.pop_back();
    CHECK(b.admission.try_admit(3).held());
}

namespace {

// `count` handshakes finished evenly over `span`.
void finish_evenly(Bench& b, int count, std::chrono::milliseconds span) {
    for (int i = 0; i < count; ++i) {
        auto slot = b.admission.try_admit(100000);
        b.now += span / count;
        slot.release();
    }
}

}  // namespace

TEST_CASE("admission: each push-back is told its place in a queue draining at the measured rate") {
    Bench b;
    finish_evenly(b, 150, milliseconds(1500));  // 100/s for a whole second and more
    CHECK(b.admission.capacity(10) == Approx(100.0).margin(5.0));
    std::vector<Admission::Slot> running;
    for (int i = 0; i < 10; ++i) {
        running.push_back(b.admission.try_admit(10));
    }
    CHECK_FALSE(b.admission.try_admit(10).held());
    CHECK(b.admission.retry_after(10) == Admission::kMinRetryAfter);  // 10 ms, at least 50
    std::vector<milliseconds> told;
    for (int i = 0; i < 40; ++i) {
        CHECK_FALSE(b.admission.try_admit(10).held());
        told.push_back(b.admission.retry_after(10));
    }
    // The 2nd .. 41st in the queue: 20 .. 410 ms, 10 ms apart.
    CHECK(told.back() >= milliseconds(400));
    CHECK(told.back() <= milliseconds(420));
    for (std::size_t i = 10; i < told.size(); ++i) {
        CHECK(told[i] - told[i - 1] >= milliseconds(9));
        CHECK(told[i] - told[i - 1] <= milliseconds(11));
    }
    // 200 ms later, 20 of them are due: the next is told the end of what is left.
    b.now += milliseconds(200);
    const auto later = b.admission.retry_after(10);
    CHECK(later >= milliseconds(200));
    CHECK(later <= milliseconds(230));
}

TEST_CASE("admission: unmeasured, the rate is taken to be the limit a second, and the horizon is 10 s") {
    Bench b;
    std::vector<Admission::Slot> running;
    for (int i = 0; i < 4; ++i) {
        running.push_back(b.admission.try_admit(4));
    }
    // Nothing finished yet: 4/s, so the queue's places are 250 ms apart.
    CHECK(b.admission.retry_after(4) == milliseconds(250));
    CHECK(b.admission.retry_after(4) == milliseconds(500));
    for (int i = 0; i < 36; ++i) {
        (void)b.admission.retry_after(4);
    }
    CHECK(b.admission.retry_after(4) == milliseconds(9750));  // the 39th
    // At the horizon: told 10 s and not queued (a later estimate decides).
    CHECK(b.admission.retry_after(4) == Admission::kMaxRetryAfter);
    CHECK(b.admission.retry_after(4) == Admission::kMaxRetryAfter);
    b.now += milliseconds(250);  // one place is due
    CHECK(b.admission.retry_after(4) == milliseconds(9750));
    // A stored limit far beyond the auto one does not mean that many a second.
    CHECK(b.admission.capacity(1'000'000) == Approx(2048.0));
}

TEST_CASE("admission: the peak rate of a whole second is kept, so a new surge is not read as slow") {
    Bench b;
    finish_evenly(b, 1500, milliseconds(1500));  // 1000/s over 1.5 s
    CHECK(b.admission.capacity(10) == Approx(1000.0).margin(20.0));
    // Quiet for a minute: nothing measured now, the peak is kept (a little less).
    b.now += std::chrono::minutes(1);
    const double kept = b.admission.capacity(10);
    CHECK(kept > 850.0);
    CHECK(kept < 1000.0);
    // A surge: the first push-backs are told places at the kept rate, not at 10/s.
    std::vector<Admission::Slot> running;
    for (int i = 0; i < 10; ++i) {
        running.push_back(b.admission.try_admit(10));
    }
    for (int i = 0; i < 99; ++i) {
        (void)b.admission.retry_after(10);
    }
    const auto hundredth = b.admission.retry_after(10);
    CHECK(hundredth >= milliseconds(100));
    CHECK(hundredth <= milliseconds(120));
    // It halves every 5 minutes: after an hour it is the assumed rate again.
    b.now += std::chrono::hours(1);
    CHECK(b.admission.capacity(10) == Approx(10.0).margin(1.0));
}

TEST_CASE("admission: a short burst does not count as a peak") {
    Bench b;
    finish_evenly(b, 100, milliseconds(100));  // 1000/s, but for 0.1 s only
    b.now += std::chrono::seconds(5);
    CHECK(b.admission.capacity(10) == Approx(10.0));
}

TEST_CASE("admission: the push-back log line comes at most once a second with the count since the last") {
    Bench b;
    auto held = b.admission.try_admit(1);
    CHECK(b.admission.take_log_count() == 0);  // nothing pushed back yet
    (void)b.admission.try_admit(1);
    CHECK(b.admission.take_log_count() == 1);
    (void)b.admission.try_admit(1);
    (void)b.admission.try_admit(1);
    b.now += milliseconds(999);
    CHECK(b.admission.take_log_count() == 0);
    b.now += milliseconds(1);
    CHECK(b.admission.take_log_count() == 2);
    CHECK(b.admission.take_log_count() == 0);
}

TEST_CASE("rate window: events of the last second, the previous second fading out") {
    RateWindow window;
    const RateWindow::TimePoint start{std::chrono::seconds(100)};
    window.add(start, 10);
    CHECK(window.last_second(start) == Approx(10.0));
    CHECK(window.last_second(start + milliseconds(500)) == Approx(10.0));
    window.add(start + milliseconds(1250), 4);
    CHECK(window.last_second(start + milliseconds(1250)) == Approx(4.0 + 10.0 * 0.75));
    CHECK(window.last_second(start + milliseconds(2500)) == Approx(4.0 * 0.5));
    CHECK(window.last_second(start + milliseconds(5000)) == Approx(0.0));
}

TEST_CASE("rate window: a burst that began a moment ago is measured over its own length") {
    RateWindow window;
    const RateWindow::TimePoint start{std::chrono::seconds(100) + milliseconds(500)};
    CHECK(window.per_second(start) == Approx(0.0));
    for (int i = 0; i < 200; ++i) {
        window.add(start + milliseconds(i));
    }
    // 200 in the 200 ms since it began: 1000 a second, not 200.
    CHECK(window.per_second(start + milliseconds(200)) == Approx(1000.0));
    // At least 100 ms: 10 events at once are not 10,000 a second.
    RateWindow quick;
    quick.add(start, 10);
    CHECK(quick.per_second(start + milliseconds(1)) == Approx(100.0));
    // After a whole second the rate is the last second's count.
    for (int i = 200; i < 1500; ++i) {
        window.add(start + milliseconds(i));
    }
    CHECK(window.per_second(start + milliseconds(1500)) == Approx(1000.0).epsilon(0.01));
    // A second without events starts the measure again.
    window.add(start + milliseconds(4000), 5);
    CHECK(window.per_second(start + milliseconds(4200)) == Approx(25.0));
}
