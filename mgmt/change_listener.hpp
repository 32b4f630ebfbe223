#pragma once

// Waits on the store's change feed (PostgreSQL LISTEN) on a thread of its
// own, since every feed call blocks, and calls on_change as soon as another
// process (or this one) bumps the generation. A lost connection is logged
// once, retried with a growing pause, and once it listens again on_change is
// called once more: a change announced meanwhile was not delivered.

#include "common/store/store.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace agentlb::mgmt {

class Metrics;

// A wait ends at once on a change or on stop(); the limit only bounds a
// wait on a connection that died without the socket telling.
inline constexpr std::chrono::seconds kChangeFeedWait{10};
// Pauses between reconnect attempts: doubling from the first to the last.
// After a pause the listener calls wait() with no timeout to spare, so a
// return without an error means the feed listens again. That holds only if
// the pause is at least the feed's own (PostgreSQL: 500 ms doubling to 10 s,
// before which wait() returns false without trying).
inline constexpr std::chrono::milliseconds kChangeFeedFirstRetry{500};
inline constexpr std::chrono::milliseconds kChangeFeedLastRetry{10000};

struct RetryPauses {
    std::chrono::milliseconds first = kChangeFeedFirstRetry;
    std::chrono::milliseconds last = kChangeFeedLastRetry;
};

class ChangeListener {
public:
    // `shown_store` is the store as a person may see it (shown_location).
    // on_change runs on the listener's thread: it must only hand over (post).
    ChangeListener(std::unique_ptr<store::ChangeFeed> feed,
                   std::string shown_store,
                   Metrics& metrics,
                   std::function<void()> on_change,
                   RetryPauses pauses = {});
    ~ChangeListener();  // stop() and join
    ChangeListener(const ChangeListener&) = delete;
    ChangeListener& operator=(const ChangeListener&) = delete;

    void start();
    // Ends the thread soon (interrupts a wait, cuts a retry pause short)
    // without waiting for it: the destructor joins. Any thread, idempotent.
    void stop();

private:
    void run();
    // Sleeps `pause` unless stop() comes first; false when stopping.
    bool pause_unless_stopped(std::chrono::milliseconds pause);

    std::unique_ptr<store::ChangeFeed> feed_;
    std::string shown_store_;
    Metrics& metrics_;
    std::function<void()> on_change_;
    RetryPauses pauses_;
    std::mutex mutex_;
    std::condition_variable stop_signal_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace agentlb::mgmt
