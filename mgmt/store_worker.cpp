#include "mgmt/store_worker.hpp"

#include "mgmt/timed_store.hpp"

#include <stdexcept>

namespace agentlb::mgmt {

StoreWorker::StoreWorker() : thread_([this] { run(); }) {}

StoreWorker::~StoreWorker() {
    stop();
}

void StoreWorker::open(std::function<std::unique_ptr<store::Store>()> opener) {
    std::promise<void> promise;
    auto future = promise.get_future();
    post_job([this, &opener, &promise](store::Store*) {
        try {
            auto opened = opener();
            if (!opened) {
                throw std::runtime_error("the store could not be opened");
            }
            store_ = std::make_unique<store::TimedStore>(std::move(opened), timings_);
            promise.set_value();
        } catch (...) {
            promise.set_exception(std::current_exception());
        }
    });
    future.get();
}

void StoreWorker::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

std::size_t StoreWorker::queue_depth() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

void StoreWorker::require_open(const store::Store* store) {
    if (store == nullptr) {
        throw std::logic_error("store job before StoreWorker::open");
    }
}

bool StoreWorker::enqueue(std::unique_ptr<Job> job) {
    {
        std::lock_guard lock(mutex_);
        if (finished_) {
            // The worker is gone: dropping the job destroys its completion
            // handler, which ends the waiting coroutine without resuming it.
            return false;
        }
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
}

void StoreWorker::run() {
    for (;;) {
        std::unique_ptr<Job> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) {
                finished_ = true;
                break;
            }
            job = std::move(queue_.front());
            queue_.pop_front();
        }
        job->run(store_.get());
    }
    // The connection is closed on the thread that used it.
    store_.reset();
}

}  // namespace agentlb::mgmt
