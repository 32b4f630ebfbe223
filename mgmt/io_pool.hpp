#pragma once

// One io_context per I/O thread (--threads). Each connection is bound to one
// context for its whole life, so its coroutines always resume on the same
// thread: no strands are needed inside a session, and a per-thread read
// buffer is never written by two threads at once (TlsStream::read_some keeps
// the caller's buffer while it waits for the rest of a record).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace agentlb::mgmt {

class IoPool {
public:
    explicit IoPool(int threads);
    ~IoPool();
    IoPool(const IoPool&) = delete;
    IoPool& operator=(const IoPool&) = delete;

    // The context that owns listeners and timers of the server itself.
    boost::asio::io_context& main() { return *contexts_.front(); }
    // Round-robin over the contexts, for a new connection.
    boost::asio::io_context& next();
    std::size_t size() const { return contexts_.size(); }

    // Runs every context on its own thread; the calling thread runs main().
    // Returns when main() has stopped and every thread has joined.
    void run();
    // Stops every context (pending handlers are dropped). Thread-safe.
    void stop();

private:
    using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
    std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
    std::vector<WorkGuard> guards_;
    std::atomic<std::size_t> next_{0};
};

}  // namespace agentlb::mgmt
