#pragma once

// One thread for the agent's blocking file work (fsync of the properties
// file, keys, certificates), so the I/O thread never waits on the disk.
// Jobs run one at a time in submission order: two pushed lists are written
// and acknowledged in the order they arrived.

#include "common/util/result.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <utility>

namespace agentlb::agent {

class FileWorker {
public:
    FileWorker() : pool_(1) {}
    ~FileWorker() { stop(); }
    FileWorker(const FileWorker&) = delete;
    FileWorker& operator=(const FileWorker&) = delete;

    // Waits for the queued jobs, then ends the thread.
    void stop() { pool_.join(); }

    // Runs `job` on the worker and resumes the calling coroutine on its own
    // executor with the result. An exception from the job (a bug) becomes a
    // failure with its text instead of crossing threads.
    template <class T>
    boost::asio::awaitable<Result<T>> run(std::function<Result<T>()> job) {
        auto initiation = [this](auto handler, std::function<Result<T>()> work) {
            auto home = boost::asio::get_associated_executor(handler);
            auto guard = boost::asio::make_work_guard(home);
            boost::asio::post(
                pool_,
                [handler = std::move(handler), work = std::move(work), guard = std::move(guard)]() mutable {
                    std::optional<Result<T>> result;
                    try {
                        result.emplace(work());
                    } catch (const std::exception& e) {
                        result.emplace(fail(std::string("internal error: ") + e.what()));
                    }
                    auto home = guard.get_executor();
                    boost::asio::post(home, [handler = std::move(handler), r = std::move(*result)]() mutable {
                        handler(std::move(r));
                    });
                    guard.reset();
                });
        };
        return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(Result<T>)>(
            initiation, boost::asio::use_awaitable, std::move(job));
    }

    // Runs `job` on the worker; it hands results back itself (post to the I/O
    // executor). The guard keeps that executor's io_context running until then.
    template <class Job>
    void post(const boost::asio::any_io_executor& home, Job job) {
        boost::asio::post(
            pool_, [job = std::move(job), guard = boost::asio::make_work_guard(home)]() mutable { job(); });
    }

private:
    boost::asio::thread_pool pool_;
};

}  // namespace agentlb::agent
