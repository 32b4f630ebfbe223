#include "mgmt/change_listener.hpp"

#include "common/util/text.hpp"
#include "mgmt/metrics.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace agentlb::mgmt {

namespace {

// libpq's messages end in a newline and may hold several lines.
std::string reason_text(const std::exception& e) {
    return util::peer_text(util::trim(e.what(), " \t\r\n"), 1024);
}

}  // namespace

ChangeListener::ChangeListener(std::unique_ptr<store::ChangeFeed> feed,
                               std::string shown_store,
                               Metrics& metrics,
                               std::function<void()> on_change,
                               RetryPauses pauses)
    : feed_(std::move(feed)),
      shown_store_(std::move(shown_store)),
      metrics_(metrics),
      on_change_(std::move(on_change)),
      pauses_(pauses) {}

ChangeListener::~ChangeListener() {
    stop();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void ChangeListener::start() {
    metrics_.change_feed_state.store(1);
    thread_ = std::thread([this] { run(); });
}

void ChangeListener::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    stop_signal_.notify_all();
    feed_->interrupt();
}

bool ChangeListener::pause_unless_stopped(std::chrono::milliseconds pause) {
    std::unique_lock lock(mutex_);
    return !stop_signal_.wait_for(lock, pause, [this] { return stopping_; });
}

void ChangeListener::run() {
    bool lost = false;
    int attempts = 0;
    auto retry = pauses_.first;
    const auto stopping = [this] {
        std::lock_guard lock(mutex_);
        return stopping_;
    };
    while (!stopping()) {
        bool changed = false;
        try {
            // While lost, the call after a pause reconnects (or throws): do
            // not sit out a whole wait before saying it listens again.
            const auto timeout =
                lost ? std::chrono::milliseconds(0) : std::chrono::milliseconds(kChangeFeedWait);
            changed = feed_->wait(timeout);
        } catch (const std::exception& e) {
            if (!lost) {
                lost = true;
                metrics_.change_feed_state.store(0);
                spdlog::warn(
                    "change notification lost: {}; the safety poll keeps this server in sync while "
                    "it reconnects",
                    reason_text(e));
            } else {
                ++attempts;
                spdlog::debug(
                    "change notification: attempt {} to listen again failed: {}", attempts, reason_text(e));
            }
            if (!pause_unless_stopped(retry)) {
                return;
            }
            retry = std::min(retry * 2, pauses_.last);
            continue;
        }
        if (stopping()) {
            return;  // interrupted
        }
        if (lost) {
            lost = false;
            metrics_.change_feed_state.store(1);
            spdlog::info(
                "store {}: listening for changes again ({} failed attempts to reconnect); reloading, "
                "since changes announced meanwhile were not delivered",
                shown_store_,
                attempts);
            attempts = 0;
            retry = pauses_.first;
            on_change_();
            continue;
        }
        if (changed) {
            metrics_.store_notifications.fetch_add(1);
            on_change_();
        }
    }
}

}  // namespace agentlb::mgmt
