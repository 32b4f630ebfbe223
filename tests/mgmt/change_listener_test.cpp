// The change listener's loop over a scripted ChangeFeed (the PostgreSQL feed
// itself is tested on a real database in postgresql_test.cpp).

#include "mgmt/change_listener.hpp"

#include "mgmt/metrics.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <sstream>

using namespace agentlb;
using namespace agentlb::mgmt;
using namespace std::chrono_literals;

namespace {

enum class Step { changed, quiet, fail };

// Plays its steps, one per wait(); then blocks until interrupted.
class ScriptedFeed final : public store::ChangeFeed {
public:
    explicit ScriptedFeed(std::deque<Step> steps) : steps_(std::move(steps)) {}

    bool wait(std::chrono::milliseconds timeout) override {
        std::unique_lock lock(mutex_);
        timeouts_.push_back(timeout);
        if (!steps_.empty()) {
            const auto step = steps_.front();
            steps_.pop_front();
            if (step == Step::fail) {
                throw store::StoreError("store postgresql://u:***@db/x: change feed: connection lost (gone)");
            }
            return step == Step::changed;
        }
        woken_.wait(lock, [this] { return interrupted_; });
        interrupted_ = false;
        return false;
    }

    void interrupt() override {
        std::lock_guard lock(mutex_);
        interrupted_ = true;
        woken_.notify_all();
    }

    std::vector<std::chrono::milliseconds> timeouts() {
        std::lock_guard lock(mutex_);
        return timeouts_;
    }
    bool played() {
        std::lock_guard lock(mutex_);
        return steps_.empty();
    }

private:
    std::mutex mutex_;
    std::condition_variable woken_;
    std::deque<Step> steps_;
    bool interrupted_ = false;
    std::vector<std::chrono::milliseconds> timeouts_;
};

// Captures what the listener logs while it lives.
class CapturedLog {
public:
    CapturedLog() : previous_(spdlog::default_logger()) {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text_);
        auto logger = std::make_shared<spdlog::logger>("captured", sink);
        logger->set_level(spdlog::level::debug);
        spdlog::set_default_logger(logger);
    }
    ~CapturedLog() { spdlog::set_default_logger(previous_); }
    std::string text() {
        spdlog::default_logger()->flush();
        return text_.str();
    }

private:
    std::shared_ptr<spdlog::logger> previous_;
    std::ostringstream text_;
};

std::size_t count_of(const std::string& text, const std::string& part) {
    std::size_t count = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) {
        ++count;
    }
    return count;
}

constexpr RetryPauses kFastRetries{5ms, 20ms};

}  // namespace

TEST_CASE("each announced change calls on_change at once, and a quiet wait does not") {
    Metrics metrics;
    std::atomic<int> changes{0};
    auto feed = std::make_unique<ScriptedFeed>(std::deque<Step>{Step::changed, Step::quiet, Step::changed});
    auto* script = feed.get();
    {
        ChangeListener listener(
            std::move(feed), "db", metrics, [&] { ++changes; }, kFastRetries);
        listener.start();
        CHECK(metrics.change_feed_state.load() == 1);
        REQUIRE(agentlb::test::wait_until([&] { return changes.load() == 2 && script->played(); }, 2s));
        CHECK(metrics.store_notifications.load() == 2);
        for (const auto timeout : script->timeouts()) {
            CHECK(timeout == std::chrono::milliseconds(kChangeFeedWait));
        }
        // Stopped and joined by the destructor while it blocks in wait().
    }
    CHECK(changes.load() == 2);
}

TEST_CASE("a lost feed is logged once, retried with growing pauses, and reloads once it listens again") {
    CapturedLog log;
    Metrics metrics;
    std::atomic<int> changes{0};
    auto feed = std::make_unique<ScriptedFeed>(
        std::deque<Step>{Step::fail, Step::fail, Step::fail, Step::fail, Step::quiet, Step::changed});
    auto* script = feed.get();
    ChangeListener listener(
        std::move(feed), "postgresql://u:***@db/x", metrics, [&] { ++changes; }, kFastRetries);
    listener.start();
    REQUIRE(agentlb::test::wait_until([&] { return script->played() && changes.load() == 2; }, 2s));
    CHECK(metrics.change_feed_state.load() == 1);
    // One reload for the reconnection, one for the change after it.
    CHECK(metrics.store_notifications.load() == 1);
    const auto text = log.text();
    INFO(text);
    CHECK(count_of(text, "change notification lost:") == 1);
    CHECK(count_of(text, "attempt") == 3 + 1);  // three debug lines, one summary
    CHECK_THAT(
        text,
        Catch::Contains("store postgresql://u:***@db/x: listening for changes again (3 failed attempts"));
    // After a loss the call that reconnects does not wait for changes first.
    const auto timeouts = script->timeouts();
    REQUIRE(timeouts.size() >= 6);
    CHECK(timeouts[0] == std::chrono::milliseconds(kChangeFeedWait));
    for (std::size_t i = 1; i <= 4; ++i) {
        CHECK(timeouts[i] == 0ms);
    }
    CHECK(timeouts[5] == std::chrono::milliseconds(kChangeFeedWait));
}

TEST_CASE("the feed state is 0 while it reconnects, and stop ends a retry pause at once") {
    Metrics metrics;
    auto feed = std::make_unique<ScriptedFeed>(std::deque<Step>{Step::fail});
    auto* script = feed.get();
    auto listener = std::make_unique<ChangeListener>(
        std::move(feed), "db", metrics, [] {}, RetryPauses{std::chrono::hours(1), std::chrono::hours(1)});
    listener->start();
    REQUIRE(agentlb::test::wait_until([&] { return script->played(); }, 2s));
    REQUIRE(agentlb::test::wait_until([&] { return metrics.change_feed_state.load() == 0; }, 2s));
    const auto started = std::chrono::steady_clock::now();
    listener.reset();
    CHECK(std::chrono::steady_clock::now() - started < 1s);
}
