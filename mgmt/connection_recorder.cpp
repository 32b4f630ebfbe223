#include "mgmt/connection_recorder.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include <stdexcept>
#include <utility>

namespace agentlb::mgmt {

namespace asio = boost::asio;

ConnectionRecorder::ConnectionRecorder(StoreWorker& worker,
                                       std::string server,
                                       StillWanted still_wanted,
                                       Now now)
    : worker_(worker), queue_(std::make_shared<Queue>()) {
    queue_->server = std::move(server);
    queue_->still_wanted = std::move(still_wanted);
    queue_->now = std::move(now);
}

asio::awaitable<void> ConnectionRecorder::apply(store::ConnectionChange change) {
    std::exception_ptr error;
    // Named, not a temporary inside co_await (GCC PR 100611).
    auto initiate = [this, &change, &error](auto handler) {
        // Keeps the I/O executor's run() from returning while we wait.
        auto work =
            asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
        auto done = [&error, work, handler = std::move(handler)](std::exception_ptr e) mutable {
            error = std::move(e);
            asio::post(work, std::move(handler));
        };
        enqueue(change, std::make_unique<WaiterImpl<decltype(done)>>(std::move(done)));
    };
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(initiate, asio::use_awaitable);
    if (error) {
        std::rethrow_exception(error);
    }
}

std::uint64_t ConnectionRecorder::commits() const {
    std::lock_guard lock(queue_->mutex);
    return queue_->commits;
}

void ConnectionRecorder::enqueue(store::ConnectionChange change, std::unique_ptr<Waiter> waiter) {
    {
        std::lock_guard lock(queue_->mutex);
        queue_->pending.push_back(Pending{change, std::move(waiter)});
        if (queue_->flush_queued) {
            return;  // the queued flush takes it
        }
        queue_->flush_queued = true;
    }
    if (!worker_.post([queue = queue_](store::Store* store) { flush(*queue, store); })) {
        // The store thread has finished (shutdown): as with StoreWorker::call,
        // the waiters are dropped, which ends their coroutines unresumed.
        std::vector<Pending> dropped;
        std::lock_guard lock(queue_->mutex);
        dropped.swap(queue_->pending);
        queue_->flush_queued = false;
    }
}

void ConnectionRecorder::flush(Queue& queue, store::Store* store) {
    std::vector<Pending> group;
    {
        std::lock_guard lock(queue.mutex);
        group.swap(queue.pending);
        queue.flush_queued = false;
    }
    if (store == nullptr) {
        const auto error = std::make_exception_ptr(std::logic_error("store job before StoreWorker::open"));
        for (auto& entry : group) {
            entry.waiter->complete(error);
        }
        return;
    }
    std::vector<store::ConnectionChange> changes;
    std::vector<Waiter*> waiters;
    changes.reserve(group.size());
    waiters.reserve(group.size());
    for (auto& entry : group) {
        if (queue.still_wanted && !queue.still_wanted(entry.change)) {
            entry.waiter->complete(nullptr);
            continue;
        }
        changes.push_back(entry.change);
        waiters.push_back(entry.waiter.get());
    }
    if (changes.empty()) {
        return;
    }
    const std::int64_t now = queue.now();
    try {
        store->apply_connection_changes(queue.server, changes, now);
        {
            std::lock_guard lock(queue.mutex);
            ++queue.commits;
        }
        for (auto* waiter : waiters) {
            waiter->complete(nullptr);
        }
        return;
    } catch (...) {
        if (changes.size() == 1) {
            waiters.front()->complete(std::current_exception());
            return;
        }
    }
    // One change per transaction: each caller gets its own outcome.
    for (std::size_t i = 0; i < changes.size(); ++i) {
        std::exception_ptr error;
        try {
            const std::vector<store::ConnectionChange> one{changes[i]};
            store->apply_connection_changes(queue.server, one, now);
            std::lock_guard lock(queue.mutex);
            ++queue.commits;
        } catch (...) {
            error = std::current_exception();
        }
        waiters[i]->complete(error);
    }
}

}  // namespace agentlb::mgmt
