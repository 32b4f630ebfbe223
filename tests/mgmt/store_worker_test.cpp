#include "mgmt/store_worker.hpp"

#include "tests/support/temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>
#include <thread>

using namespace agentlb;
using namespace agentlb::mgmt;
namespace asio = boost::asio;

TEST_CASE("store jobs run on the worker thread and resume on the caller's executor") {
    test::TempDir dir;
    StoreWorker worker;
    worker.open(
        [path = (dir / "s.db").string()] { return store::open_sqlite_store(path, store::OpenMode::create); });

    asio::io_context io;
    std::thread::id job_thread;
    std::thread::id resumed_thread;
    std::int64_t generation = -1;
    bool rethrown = false;
    auto run = [&]() -> asio::awaitable<void> {
        generation = co_await worker.call([&](store::Store& s) {
            job_thread = std::this_thread::get_id();
            return s.generation();
        });
        resumed_thread = std::this_thread::get_id();
        co_await worker.call([](store::Store& s) { (void)s.set_config("host", "a,b"); });
        try {
            co_await worker.call([](store::Store&) -> int { throw std::runtime_error("boom"); });
        } catch (const std::runtime_error& e) {
            rethrown = std::string(e.what()) == "boom";
        }
    };
    asio::co_spawn(io, run(), asio::detached);
    io.run_for(std::chrono::seconds(5));

    CHECK(generation >= 0);
    CHECK(job_thread != std::thread::id());
    CHECK(job_thread != std::this_thread::get_id());
    CHECK(resumed_thread == std::this_thread::get_id());
    CHECK(rethrown);
    // The blocking form sees the write made through the coroutine form.
    CHECK(worker.call_sync([](store::Store& s) { return s.get_config("host"); }) ==
          std::optional<std::string>("a,b"));
}

TEST_CASE("a job before open fails and stop drains the queue first") {
    StoreWorker worker;
    CHECK_THROWS_AS(worker.call_sync([](store::Store& s) { return s.generation(); }), std::logic_error);

    test::TempDir dir;
    worker.open(
        [path = (dir / "s.db").string()] { return store::open_sqlite_store(path, store::OpenMode::create); });
    worker.stop();
    worker.stop();  // idempotent
    CHECK(worker.queue_depth() == 0);
}

TEST_CASE("an opener that fails reports its reason") {
    StoreWorker worker;
    CHECK_THROWS_WITH(
        worker.open([]() -> std::unique_ptr<store::Store> { throw std::runtime_error("no such db"); }),
        "no such db");
}
