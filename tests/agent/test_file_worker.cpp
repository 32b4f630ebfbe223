#include "agent/file_worker.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>
#include <thread>

using namespace agentlb;
using namespace agentlb::agent;
namespace asio = boost::asio;

TEST_CASE("file worker runs jobs off the I/O thread and resumes on it") {
    asio::io_context io;
    FileWorker worker;
    const auto io_thread = std::this_thread::get_id();
    std::thread::id job_thread;
    std::thread::id resumed_on;
    std::optional<Result<int>> outcome;
    auto task = [&]() -> asio::awaitable<void> {
        std::function<Result<int>()> job = [&]() -> Result<int> {
            job_thread = std::this_thread::get_id();
            return 42;
        };
        auto r = co_await worker.run(std::move(job));
        resumed_on = std::this_thread::get_id();
        outcome.emplace(std::move(r));
    };
    asio::co_spawn(io, task(), asio::detached);
    io.run();  // returns once the coroutine is done: the job kept it busy
    REQUIRE(outcome.has_value());
    REQUIRE(outcome->ok());
    CHECK(**outcome == 42);
    CHECK(job_thread != io_thread);
    CHECK(resumed_on == io_thread);
}

TEST_CASE("file worker turns a job's exception into a failure") {
    asio::io_context io;
    FileWorker worker;
    std::optional<Status> outcome;
    auto task = [&]() -> asio::awaitable<void> {
        std::function<Status()> job = []() -> Status { throw std::runtime_error("boom"); };
        auto r = co_await worker.run(std::move(job));
        outcome.emplace(std::move(r));
    };
    asio::co_spawn(io, task(), asio::detached);
    io.run();
    REQUIRE(outcome.has_value());
    REQUIRE_FALSE(outcome->ok());
    CHECK_THAT(outcome->error(), Catch::Contains("boom"));
}

TEST_CASE("file worker runs posted jobs in order and keeps the io_context alive meanwhile") {
    asio::io_context io;
    FileWorker worker;
    std::vector<int> order;
    for (int i = 0; i < 5; ++i) {
        worker.post(io.get_executor(), [&, i] {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            asio::post(io, [&, i] { order.push_back(i); });
        });
    }
    io.run();
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
}
