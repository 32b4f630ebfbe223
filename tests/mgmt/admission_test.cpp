// Admission control's counting (mgmt/admission): the limit, slots released
// once, the retry-after as a stream at the measured capacity, the log's pacing. No sockets.

#include "mgmt/admission.hpp"

#include "mgmt/metrics.hpp"
#include "tests/support/net_probe.hpp"

#include <catch2/catch.hpp>

#include <deque>
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

TEST_CASE("admission: the auto limit is 64 per I/O thread, a stored value wins") {
    Bench b;
    CHECK(b.admission.limit_for(0) == 128);
    CHECK(b.admission.limit_for(1) == 1);
    CHECK(b.admission.limit_for(5000) == 5000);
    Metrics metrics;
    CHECK(Admission(metrics, 0).limit_for(0) == 64);
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

TEST_CASE("admission: a burst of push-backs gets distinct increasing waits at the capacity rate") {
    Bench b;
    // Steady load: 10 handshakes of 100 ms at once, one finishing every 10 ms (100 a second).
    std::deque<Admission::Slot> running;
    const auto run_for = [&](milliseconds length) {
        for (auto t = milliseconds(0); t < length; t += milliseconds(10)) {
            b.now += milliseconds(10);
            if (running.size() == 10) {
                running.pop_front();
            }
            running.push_back(b.admission.try_admit(10));
            REQUIRE(running.back().held());
        }
    };
    run_for(std::chrono::seconds(2));
    CHECK(b.admission.capacity(10) == Approx(100.0).epsilon(0.02));
    // 50 pushed back at the same instant: each its own slot, 10 ms apart.
    std::vector<milliseconds> waits;
    for (int i = 0; i < 50; ++i) {
        CHECK_FALSE(b.admission.try_admit(10).held());
        waits.push_back(b.admission.retry_after(10));
    }
    for (std::size_t i = 0; i < waits.size(); ++i) {
        const auto expected = std::max(Admission::kMinRetryAfter, milliseconds(10 * i));
        CHECK(waits[i].count() == Approx(expected.count()).margin(10));
        if (i > 5) {
            CHECK(waits[i] > waits[i - 1]);
        }
    }
    CHECK(waits.back() >= milliseconds(480));
    CHECK(waits.back() <= milliseconds(500));
    // 200 ms later 20 of them are due: the next is queued behind the other 30.
    run_for(milliseconds(200));
    CHECK(b.admission.retry_after(10).count() == Approx(300).margin(10));
    // Once the backlog has drained, the next wait is the floor again.
    run_for(std::chrono::seconds(1));
    CHECK(b.admission.retry_after(10) == Admission::kMinRetryAfter);
}

TEST_CASE("admission: while full and nothing finishes, the waits grow with the stall") {
    Bench b;
    auto held = b.admission.try_admit(1);
    b.now += milliseconds(20);
    held.release();  // one 20 ms handshake: 50 a second
    held = b.admission.try_admit(1);
    CHECK(b.admission.capacity(1) == Approx(50.0));
    // Stalled for 5 s: at most one every 5 s now; two waiting -> the second 5 s out.
    b.now += std::chrono::seconds(5);
    CHECK(b.admission.capacity(1) == Approx(0.2));
    CHECK(b.admission.retry_after(1) == Admission::kMinRetryAfter);
    CHECK(b.admission.retry_after(1) == milliseconds(5000));
}

TEST_CASE("admission: a faster measured completion rate shortens the waits of those still queued") {
    Bench b;
    // Nothing finished yet: handshakes are assumed to take 100 ms -> 4 limit = 40/s.
    CHECK(b.admission.capacity(4) == Approx(40.0));
    std::vector<Admission::Slot> running;
    for (int i = 0; i < 4; ++i) {
        running.push_back(b.admission.try_admit(4));
    }
    for (int i = 0; i < 40; ++i) {
        (void)b.admission.retry_after(4);
    }
    CHECK(b.admission.retry_after(4) == milliseconds(1000));  // 40 ahead at 40/s
    // The four finish after 10 ms: 400 a second; the 41 queued now take ~0.1 s.
    b.now += milliseconds(10);
    running.clear();
    CHECK(b.admission.capacity(4) == Approx(400.0));
    const auto wait = b.admission.retry_after(4);
    CHECK(wait >= milliseconds(90));
    CHECK(wait <= milliseconds(105));
}

TEST_CASE("admission: retry-after stays within 50 ms and 60 s") {
    Bench b;
    // A slow server (1 s handshakes, limit 1: 1/s) with 100 waiting: capped at 60 s.
    {
        auto slot = b.admission.try_admit(1);
        b.now += std::chrono::seconds(1);
    }
    b.now += std::chrono::seconds(5);
    CHECK(b.admission.capacity(1) == Approx(1.0));
    CHECK(b.admission.retry_after(1) == Admission::kMinRetryAfter);
    for (int i = 0; i < 100; ++i) {
        (void)b.admission.retry_after(1);
    }
    CHECK(b.admission.retry_after(1) == Admission::kMaxRetryAfter);
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
