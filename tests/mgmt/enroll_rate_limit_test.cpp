// The enrollment port's limit on failed attempts per source address.

#include "mgmt/enroll_rate_limit.hpp"

#include "mgmt/enroll_session.hpp"

#include <catch2/catch.hpp>

#include <string>

using agentlb::mgmt::EnrollRateLimit;
using Verdict = EnrollRateLimit::Verdict;
using namespace std::chrono_literals;

namespace {

const EnrollRateLimit::Clock::time_point t0 = EnrollRateLimit::Clock::time_point{} + 1000h;

// `count` failures from `key` at `at`, each checked first as the session does.
void fail_times(EnrollRateLimit& limit,
                const std::string& key,
                int count,
                EnrollRateLimit::Clock::time_point at) {
    for (int i = 0; i < count; ++i) {
        REQUIRE(limit.check(key, at) == Verdict::allowed);
        limit.record_failure(key, at);
    }
}

}  // namespace

TEST_CASE("rate limit: ten failures pass, the eleventh request is refused, others are not affected") {
    EnrollRateLimit limit;  // 10 per 60 s
    fail_times(limit, "10.0.0.1", 10, t0);
    CHECK(limit.check("10.0.0.1", t0) == Verdict::refused_first);
    CHECK(limit.check("10.0.0.1", t0 + 1s) == Verdict::refused);
    CHECK(limit.check("10.0.0.1", t0 + 5s) == Verdict::refused);
    CHECK(limit.check("10.0.0.2", t0) == Verdict::allowed);

    const auto summary = limit.take_summary(t0 + 5s);
    CHECK(summary.refused == 3);
    CHECK(summary.addresses == 1);
    CHECK(summary.top == "10.0.0.1");
    CHECK(summary.top_refused == 3);
    // Counted once: the next summary starts from zero.
    CHECK(limit.take_summary(t0 + 5s).refused == 0);
}

TEST_CASE("rate limit: successes cost nothing and refusals add no debt") {
    EnrollRateLimit limit;
    fail_times(limit, "10.0.0.1", 9, t0);
    for (int i = 0; i < 100; ++i) {
        CHECK(limit.check("10.0.0.1", t0) == Verdict::allowed);  // requests that then enrol
    }
    limit.record_failure("10.0.0.1", t0);
    for (int i = 0; i < 100; ++i) {
        limit.check("10.0.0.1", t0 + 1s);  // refused, and no debt for it
    }
    // One failure's worth (6 s) drains and one more attempt is let through.
    CHECK(limit.check("10.0.0.1", t0 + 5s) == Verdict::refused);
    CHECK(limit.check("10.0.0.1", t0 + 6s) == Verdict::allowed);
    limit.record_failure("10.0.0.1", t0 + 6s);
    CHECK(limit.check("10.0.0.1", t0 + 6s) == Verdict::refused);
    CHECK(limit.check("10.0.0.1", t0 + 12s) == Verdict::allowed);
}

TEST_CASE("rate limit: the window: ten failures spread over a minute never limit") {
    EnrollRateLimit limit;
    for (int i = 0; i < 30; ++i) {
        fail_times(limit, "10.0.0.1", 1, t0 + i * 6s);
    }
    // Debt drains fully: the next burst is announced again.
    const auto later = t0 + 30 * 6s + 60s;
    fail_times(limit, "10.0.0.1", 10, later);
    CHECK(limit.check("10.0.0.1", later) == Verdict::refused_first);
    CHECK(limit.check("10.0.0.1", later + 90s) == Verdict::allowed);
    fail_times(limit, "10.0.0.1", 10, later + 90s);
    CHECK(limit.check("10.0.0.1", later + 90s) == Verdict::refused_first);
}

TEST_CASE("rate limit: the table is bounded, drained entries go first, then the least indebted") {
    EnrollRateLimit limit({10, 60s, 4});
    fail_times(limit, "a", 10, t0);
    limit.record_failure("a", t0);  // one more that was in flight: limited until t0 + 12 s at least
    fail_times(limit, "b", 1, t0);  // debt until t0 + 6 s
    fail_times(limit, "c", 2, t0);  // t0 + 12 s
    fail_times(limit, "d", 3, t0);  // t0 + 18 s
    CHECK(limit.size() == 4);

    SECTION("a drained entry makes room") {
        fail_times(limit, "e", 1, t0 + 7s);  // b has drained
        CHECK(limit.size() == 4);
        CHECK(limit.check("a", t0 + 7s) == Verdict::refused_first);
    }
    SECTION("with none drained, the least indebted goes; the limited one stays") {
        fail_times(limit, "e", 1, t0 + 1s);
        fail_times(limit, "f", 1, t0 + 1s);
        fail_times(limit, "g", 1, t0 + 1s);
        CHECK(limit.size() == 4);
        CHECK(limit.check("a", t0 + 1s) == Verdict::refused_first);
    }
    // An address never seen is never limited, whatever the table holds.
    CHECK(limit.check("z", t0 + 7s) == Verdict::allowed);
}

TEST_CASE("rate limit: refusals of evicted entries still reach the summary, drained entries are dropped") {
    EnrollRateLimit limit({2, 60s, 2});
    fail_times(limit, "a", 2, t0);
    CHECK(limit.check("a", t0) == Verdict::refused_first);
    CHECK(limit.check("a", t0) == Verdict::refused);
    fail_times(limit, "b", 2, t0 + 1s);
    fail_times(limit, "c", 2, t0 + 61s);  // a has drained: evicted with its 2 refusals
    const auto summary = limit.take_summary(t0 + 200s);
    CHECK(summary.refused == 2);
    CHECK(summary.addresses == 1);
    CHECK(limit.size() == 0);
}

TEST_CASE("rate limit: IPv4 as is, IPv4-mapped as IPv4, IPv6 by its /64") {
    using boost::asio::ip::make_address;
    CHECK(EnrollRateLimit::source_key(make_address("127.0.0.2")) == "127.0.0.2");
    CHECK(EnrollRateLimit::source_key(make_address("::ffff:10.1.2.3")) == "10.1.2.3");
    CHECK(EnrollRateLimit::source_key(make_address("2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::/64");
    CHECK(EnrollRateLimit::source_key(make_address("2001:db8:1:2:bbbb::9")) == "2001:db8:1:2::/64");
    CHECK(EnrollRateLimit::source_key(make_address("::1")) == "::/64");
}

TEST_CASE("rate limit: the summary line names the count, the addresses and the busiest one") {
    EnrollRateLimit::Summary summary;
    summary.refused = 990;
    summary.addresses = 2;
    summary.top = "10.0.0.1";
    summary.top_refused = 985;
    CHECK(agentlb::mgmt::enroll_refusal_summary_line(summary) ==
          "enrollment: 990 refused attempts (rate_limited) from 2 addresses in the last 10 s (top: 10.0.0.1 "
          "x985)");
    summary.top.clear();
    summary.top_refused = 0;
    CHECK_THAT(agentlb::mgmt::enroll_refusal_summary_line(summary), Catch::Contains("(top: evicted x0)"));
}
