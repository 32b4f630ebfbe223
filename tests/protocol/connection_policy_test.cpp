#include "common/protocol/connection_policy.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace agentlb::protocol;
using std::chrono::milliseconds;

namespace {

ConnectionPolicy policy_with(std::vector<std::string> hosts, std::vector<std::string> avoid = {}) {
    ConnectionPolicy policy(BackoffSettings{});
    policy.set_hosts(std::move(hosts));
    policy.set_avoid(std::move(avoid));
    return policy;
}

}  // namespace

TEST_CASE("candidates follow the list order") {
    auto policy = policy_with({"m1", "m2", "m3"});
    CHECK(policy.candidates() == std::vector<std::string>{"m1", "m2", "m3"});
    CHECK(policy.preferred() == std::optional<std::string>("m1"));
}

TEST_CASE("avoided entries move to the end in list order") {
    auto policy = policy_with({"m1", "m2", "m3", "m4"}, {"m3", "m1"});
    CHECK(policy.candidates() == std::vector<std::string>{"m2", "m4", "m1", "m3"});
    CHECK(policy.preferred() == std::optional<std::string>("m2"));
}

TEST_CASE("avoid entries match the same server written differently") {
    auto policy = policy_with({"10.0.0.1", "10.0.0.2:9000", "10.0.0.3"}, {"10.0.0.1:8250", "unknown"});
    CHECK(policy.candidates() == std::vector<std::string>{"10.0.0.2:9000", "10.0.0.3", "10.0.0.1"});
    // A different port is a different server.
    policy.set_avoid({"10.0.0.2"});
    CHECK(policy.candidates() == std::vector<std::string>{"10.0.0.1", "10.0.0.2:9000", "10.0.0.3"});
}

TEST_CASE("when every entry is avoided all are still candidates") {
    auto policy = policy_with({"m1", "m2"}, {"m2", "m1"});
    CHECK(policy.candidates() == std::vector<std::string>{"m1", "m2"});
}

TEST_CASE("candidates_excluding drops the current server only") {
    auto policy = policy_with({"m1", "m2", "m3"}, {"m2"});
    CHECK(policy.candidates_excluding("m1:8250") == std::vector<std::string>{"m3", "m2"});
    CHECK(policy.candidates_excluding("other") == std::vector<std::string>{"m1", "m3", "m2"});
    CHECK(policy.contains("m3:8250"));
    CHECK_FALSE(policy.contains("m4"));
}

TEST_CASE("backoff doubles from 1 s and stops at 60 s without jitter at r = 0.5") {
    ConnectionPolicy policy(BackoffSettings{});
    std::vector<long> waits;
    for (int i = 0; i < 9; ++i) {
        waits.push_back(static_cast<long>(policy.pass_failed(0.5).count()));
    }
    CHECK(waits == std::vector<long>{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000});
    policy.connected();
    CHECK(policy.pass_failed(0.5) == milliseconds(1000));
    CHECK(policy.pass_failed(0.5) == milliseconds(2000));
}

TEST_CASE("backoff jitter stays within plus or minus 20 percent") {
    ConnectionPolicy low(BackoffSettings{});
    CHECK(low.pass_failed(0.0) == milliseconds(800));
    CHECK(low.pass_failed(0.0) == milliseconds(1600));
    ConnectionPolicy high(BackoffSettings{});
    CHECK(high.pass_failed(0.999999) == milliseconds(1200));
    for (int i = 0; i < 10; ++i) {
        (void)high.pass_failed(0.999999);
    }
    CHECK(high.pass_failed(0.999999) == milliseconds(72000));

    ConnectionPolicy swept(BackoffSettings{});
    for (int i = 0; i < 200; ++i) {
        const auto base = swept.backoff().base();
        const auto wait = swept.pass_failed(static_cast<double>(i % 17) / 17.0);
        CHECK(wait >= base * 8 / 10);
        CHECK(wait <= base * 12 / 10);
        if (i % 10 == 9) {
            swept.connected();
        }
    }
}

TEST_CASE("backoff uses its own settings") {
    BackoffSettings settings;
    settings.initial = milliseconds(100);
    settings.cap = milliseconds(350);
    ConnectionPolicy policy(settings);
    CHECK(policy.pass_failed(0.5) == milliseconds(100));
    CHECK(policy.pass_failed(0.0) == milliseconds(160));  // 200 - 20 %
    CHECK(policy.pass_failed(0.5) == milliseconds(350));
    CHECK(policy.pass_failed(0.5) == milliseconds(350));
}

TEST_CASE("preferred check runs only when connected elsewhere") {
    auto policy = policy_with({"m1", "m2", "m3"});
    CHECK_FALSE(policy.should_try_preferred("m1"));
    CHECK_FALSE(policy.should_try_preferred("m1:8250"));
    CHECK(policy.should_try_preferred("m2"));
    CHECK(policy.should_try_preferred("gone"));

    policy.set_avoid({"m1"});
    CHECK(policy.should_try_preferred("m1"));  // the preferred one is now m2
    CHECK_FALSE(policy.should_try_preferred("m2"));

    auto empty = policy_with({});
    CHECK_FALSE(empty.preferred().has_value());
    CHECK_FALSE(empty.should_try_preferred("m1"));
    CHECK(empty.candidates().empty());
}

TEST_CASE("preferred check interval: 0 is off, otherwise plus or minus 10 percent") {
    auto policy = policy_with({"m1"});
    CHECK_FALSE(policy.preferred_check_delay(0, 0.5).has_value());
    CHECK_FALSE(policy.preferred_check_delay(-3, 0.5).has_value());

    CHECK(policy.preferred_check_delay(30, 0.0) == milliseconds(27000));
    CHECK(policy.preferred_check_delay(30, 0.5) == milliseconds(30000));
    CHECK(policy.preferred_check_delay(30, 0.999999) == milliseconds(33000));
}

TEST_CASE("preferred check is off while the list's algorithm is shuffle, on again after another") {
    // CloudStack's Agent schedules its preferred-host task with interval 0
    // (off) when the list comes with `shuffle`.
    auto policy = policy_with({"m1", "m2", "m3"});
    CHECK(policy.preferred_check_on());  // no algorithm yet: the check runs
    CHECK(policy.preferred_check_delay(30, 0.5) == milliseconds(30000));

    policy.set_algorithm("shuffle");
    CHECK_FALSE(policy.preferred_check_on());
    CHECK_FALSE(policy.preferred_check_delay(30, 0.5).has_value());
    CHECK_FALSE(policy.should_try_preferred("m2"));
    // Connecting still follows the list: only the move back is off.
    CHECK(policy.preferred() == std::optional<std::string>("m1"));
    CHECK(policy.candidates() == std::vector<std::string>{"m1", "m2", "m3"});

    policy.set_algorithm("static");
    CHECK(policy.preferred_check_on());
    CHECK(policy.preferred_check_delay(30, 0.5) == milliseconds(30000));
    CHECK(policy.should_try_preferred("m2"));

    policy.set_algorithm("shuffle");
    CHECK_FALSE(policy.should_try_preferred("m2"));
    policy.set_algorithm("roundrobin");
    CHECK(policy.should_try_preferred("m2"));
    // A list held without an algorithm (the servers correct it at connect).
    policy.set_algorithm("");
    CHECK(policy.should_try_preferred("m2"));
    CHECK(policy.algorithm().empty());
}

TEST_CASE("apply_jitter clamps the random number") {
    CHECK(apply_jitter(milliseconds(1000), 0.2, -1.0) == milliseconds(800));
    CHECK(apply_jitter(milliseconds(1000), 0.2, 2.0) == milliseconds(1200));
    CHECK(apply_jitter(milliseconds(0), 0.2, 0.7) == milliseconds(0));
}

TEST_CASE("after a pass with push-backs the wait is the smallest retry-after plus 0 to 10 percent") {
    ConnectionPolicy policy(BackoffSettings{});
    CHECK_FALSE(policy.pass_retry_after().has_value());
    policy.pushed_back("m1", milliseconds(3000));
    policy.pushed_back("m2", milliseconds(400));
    policy.pushed_back("m3", milliseconds(1200));
    CHECK(policy.pass_retry_after() == milliseconds(400));
    CHECK(policy.pass_failed(0.5) == milliseconds(420));
    // The pass's push-backs are used once; the backoff did not grow meanwhile.
    CHECK_FALSE(policy.pass_retry_after().has_value());
    CHECK(policy.pass_failed(0.5) == milliseconds(1000));

    policy.pushed_back("m1", milliseconds(2000));
    CHECK(policy.pass_failed(0.0) == milliseconds(2000));
    policy.pushed_back("m1", milliseconds(2000));
    CHECK(policy.pass_failed(0.999999) == milliseconds(2200));
    for (int i = 0; i < 100; ++i) {
        policy.pushed_back("m1", milliseconds(1000));
        const auto wait = policy.pass_failed(static_cast<double>(i) / 100.0);
        CHECK(wait >= milliseconds(1000));
        CHECK(wait <= milliseconds(1100));
    }
}

TEST_CASE("after a pass with push-backs the next pass tries first the server that expects room soonest") {
    ConnectionPolicy policy(BackoffSettings{});
    policy.set_hosts({"m1", "m2", "m3"});
    CHECK(policy.pass_candidates() == std::vector<std::string>{"m1", "m2", "m3"});
    policy.pushed_back("m2:8250", milliseconds(3000));
    policy.pushed_back("m3", milliseconds(800));
    (void)policy.pass_failed(0.5);
    CHECK(policy.pass_candidates() == std::vector<std::string>{"m3", "m1", "m2"});
    // The list's own order for everything else, and the preferred server is unchanged.
    CHECK(policy.candidates() == std::vector<std::string>{"m1", "m2", "m3"});
    CHECK(policy.preferred() == "m1");
    // Equal retry-afters: the first heard wins (the list's order).
    policy.pushed_back("m2", milliseconds(500));
    policy.pushed_back("m3", milliseconds(500));
    (void)policy.pass_failed(0.5);
    CHECK(policy.pass_candidates() == std::vector<std::string>{"m2", "m1", "m3"});
    // A pass that nobody pushed back restores the order.
    (void)policy.pass_failed(0.5);
    CHECK(policy.pass_candidates() == std::vector<std::string>{"m1", "m2", "m3"});
    // So does a connect.
    policy.pushed_back("m3", milliseconds(500));
    (void)policy.pass_failed(0.5);
    policy.connected();
    CHECK(policy.pass_candidates() == std::vector<std::string>{"m1", "m2", "m3"});
    // A server no longer listed is not added.
    policy.pushed_back("m9", milliseconds(500));
    (void)policy.pass_failed(0.5);
    CHECK(policy.pass_candidates() == std::vector<std::string>{"m1", "m2", "m3"});
}

TEST_CASE("a pass without a push-back keeps the exponential backoff") {
    ConnectionPolicy policy(BackoffSettings{});
    CHECK(policy.pass_failed(0.5) == milliseconds(1000));
    policy.pushed_back("m1", milliseconds(50));
    CHECK(policy.pass_failed(0.5) == milliseconds(53));
    CHECK(policy.pass_failed(0.5) == milliseconds(2000));
}

TEST_CASE("a connect forgets the push-backs heard") {
    ConnectionPolicy policy(BackoffSettings{});
    policy.pushed_back("m1", milliseconds(9000));
    policy.connected();
    CHECK_FALSE(policy.pass_retry_after().has_value());
    CHECK(policy.pass_failed(0.5) == milliseconds(1000));
}

TEST_CASE("a retry-after beyond 60 s counts as 60 s, a negative one as 0") {
    ConnectionPolicy policy(BackoffSettings{});
    policy.pushed_back("m1", std::chrono::hours(1));
    CHECK(policy.pass_retry_after() == milliseconds(60000));
    CHECK(policy.pass_failed(0.0) == milliseconds(60000));
    policy.pushed_back("m1", milliseconds(-5));
    CHECK(policy.pass_failed(0.5) == milliseconds(0));
}
