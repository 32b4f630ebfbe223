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

TEST_CASE("admission: the auto limit is 512 per I/O thread, a stored value wins") {
    Bench b;
    CHECK(b.admission.limit_for(0) == 1024);
    CHECK(b.admission.limit_for(1) == 1);
    CHECK(b.admission.limit_for(5000) == 5000);
    Metrics metrics;
    CHECK(Admission(metrics, 0).limit_for(0) == 512);
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

TEST_CASE("admission: retry-after is what is waiting over the handshakes finished in the last second") {
    Bench b;
    // 100 finished during the last second: the rate is 100/s.
    for (int i = 0; i < 100; ++i) {
        auto slot = b.admission.try_admit(1000);
        slot.release();
        b.now += milliseconds(10);
    }
    std::vector<Admission::Slot> running;
    for (int i = 0; i < 10; ++i) {
        running.push_back(b.admission.try_admit(10));
    }
    // 10 in progress + 1 pushed back, at 100/s.
    CHECK_FALSE(b.admission.try_admit(10).held());
    const auto one = b.admission.retry_after(10);
    CHECK(one >= milliseconds(100));
    CHECK(one <= milliseconds(120));
    // 40 more pushed back: 10 + 41 waiting.
    for (int i = 0; i < 40; ++i) {
        CHECK_FALSE(b.admission.try_admit(10).held());
    }
    const auto many = b.admission.retry_after(10);
    CHECK(many >= milliseconds(480));
    CHECK(many <= milliseconds(560));
}

TEST_CASE("admission: retry-after stays within 50 ms and 10 s, and assumes the limit per second unmeasured") {
    Bench b;
    // Nothing finished yet: the rate is taken to be the limit (4/s); 4 in progress -> 1 s.
    std::vector<Admission::Slot> running;
    for (int i = 0; i < 4; ++i) {
        running.push_back(b.admission.try_admit(4));
    }
    CHECK(b.admission.retry_after(4) == milliseconds(1000));
    // Many pushed back: capped at 10 s.
    for (int i = 0; i < 100; ++i) {
        (void)b.admission.try_admit(4);
    }
    CHECK(b.admission.retry_after(4) == Admission::kMaxRetryAfter);
    // A second later the push-backs are forgotten; fast handshakes: at least 50 ms.
    b.now += std::chrono::seconds(2);
    running.clear();
    for (int i = 0; i < 5000; ++i) {
        auto slot = b.admission.try_admit(100000);
    }
    CHECK(b.admission.retry_after(100000) == Admission::kMinRetryAfter);
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
