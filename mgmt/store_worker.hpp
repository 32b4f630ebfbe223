#pragma once

// The one thread that talks to the store.
//
// SQLite calls block (busy timeout, fsync), so they never run on an I/O
// thread. I/O code hands a callable to this worker and co_awaits its result,
// which comes back on the caller's own executor (strand). Jobs run one at a
// time, in order, on a single Store object: the store needs no locking.

#include "common/store/store.hpp"
#include "mgmt/awaitable.hpp"
#include "mgmt/store_timings.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>

namespace agentlb::mgmt {

class StoreWorker {
public:
    StoreWorker();
    ~StoreWorker();
    StoreWorker(const StoreWorker&) = delete;
    StoreWorker& operator=(const StoreWorker&) = delete;

    // Opens the store on the worker thread (SQLite connections stay on the
    // thread that made them). Throws what `opener` throws.
    void open(std::function<std::unique_ptr<store::Store>()> opener);

    // Runs the queued jobs, then ends the thread. Idempotent.
    void stop();

    std::size_t queue_depth() const;

    // Every call of the store this worker opened, timed (TimedStore).
    const StoreTimings& timings() const { return timings_; }

    // Blocking call for start-up and shutdown code (never from an I/O thread).
    template <class F>
    auto call_sync(F f) -> std::invoke_result_t<F&, store::Store&> {
        using R = std::invoke_result_t<F&, store::Store&>;
        std::promise<R> promise;
        auto future = promise.get_future();
        post_job([&f, &promise](store::Store* store) {
            try {
                require_open(store);
                if constexpr (std::is_void_v<R>) {
                    f(*store);
                    promise.set_value();
                } else {
                    promise.set_value(f(*store));
                }
            } catch (...) {
                promise.set_exception(std::current_exception());
            }
        });
        return future.get();
    }

    // Runs f(store) on the worker thread and resumes the awaiting coroutine
    // on its own executor with the result (or rethrows f's exception).
    template <class F>
    boost::asio::awaitable<std::invoke_result_t<F&, store::Store&>> call(F f) {
        using R = std::invoke_result_t<F&, store::Store&>;
        using Slot = std::conditional_t<std::is_void_v<R>, bool, R>;
        std::optional<Slot> result;
        std::exception_ptr error;
        // Named, not a temporary inside co_await (GCC PR 100611).
        auto initiate = [this, &f, &result, &error](auto handler) {
            // Keeps the I/O executor's run() from returning while we wait.
            auto work = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                            boost::asio::execution::outstanding_work.tracked);
            post_job([&f, &result, &error, work, handler = std::move(handler)](store::Store* store) mutable {
                try {
                    require_open(store);
                    if constexpr (std::is_void_v<R>) {
                        f(*store);
                        result.emplace(true);
                    } else {
                        result.emplace(f(*store));
                    }
                } catch (...) {
                    error = std::current_exception();
                }
                boost::asio::post(work, std::move(handler));
            });
        };
        co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void()>(
            initiate, boost::asio::use_awaitable);
        if (error) {
            std::rethrow_exception(error);
        }
        if constexpr (!std::is_void_v<R>) {
            co_return std::move(*result);
        }
    }

    // Runs f(store) on the worker thread without waiting for it: f handles
    // its own errors (store is null before open). False, and f dropped
    // unrun, once the worker has finished (stop).
    template <class F>
    bool post(F f) {
        return post_job(std::move(f));
    }

private:
    // A move-only type-erased job (std::function needs copyable callables,
    // and completion handlers are move-only).
    struct Job {
        virtual ~Job() = default;
        virtual void run(store::Store* store) = 0;
    };
    template <class Fn>
    struct JobImpl final : Job {
        explicit JobImpl(Fn&& fn) : fn_(std::move(fn)) {}
        void run(store::Store* store) override { fn_(store); }
        Fn fn_;
    };

    template <class Fn>
    bool post_job(Fn&& fn) {
        return enqueue(std::make_unique<JobImpl<std::decay_t<Fn>>>(std::forward<Fn>(fn)));
    }
    bool enqueue(std::unique_ptr<Job> job);
    static void require_open(const store::Store* store);
    void run();

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::unique_ptr<Job>> queue_;
    bool stopping_ = false;
    bool finished_ = false;
    StoreTimings timings_;  // before store_, which counts into it
    std::unique_ptr<store::Store> store_;
    std::thread thread_;
};

}  // namespace agentlb::mgmt
