// PostgreSQL only: the change feed (LISTEN/NOTIFY) and a database that goes away.

#include "common/store/store.hpp"
#include "common/store/store_location.hpp"
#include "tests/support/pg_database.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <thread>

using namespace agentlb::store;
using namespace std::chrono_literals;
using agentlb::test::pg_cluster_dir;
using agentlb::test::pg_exec;
using agentlb::test::PgTestDatabase;
using Clock = std::chrono::steady_clock;

namespace {

std::string feed_password() {
    std::ifstream in(pg_cluster_dir() + "/password");
    std::string line;
    std::getline(in, line);
    return line;
}

std::string error_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const StoreError& e) {
        return e.what();
    }
    return "";
}

std::chrono::milliseconds since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

}  // namespace

TEST_CASE("the change feed wakes within milliseconds of a generation bump on another connection") {
    PgTestDatabase database;
    auto store = open_store(database.uri(), OpenMode::create);
    auto feed = open_change_feed(database.uri());
    REQUIRE(feed != nullptr);

    Clock::time_point written;
    std::thread writer([&] {
        std::this_thread::sleep_for(100ms);
        auto other = open_store(database.uri(), OpenMode::existing);
        REQUIRE(other->set_config("indirect.agent.lb.check.interval", "30"));
        written = Clock::now();
    });
    const auto start = Clock::now();
    const bool woke = feed->wait(5s);
    const auto woke_at = Clock::now();
    writer.join();
    CHECK(woke);
    CHECK(since(start) >= 90ms);
    CHECK(woke_at - written < 200ms);

    // Nothing new: the wait runs out.
    const auto quiet = Clock::now();
    CHECK_FALSE(feed->wait(150ms));
    CHECK(since(quiet) >= 140ms);
}

TEST_CASE("one wait consumes every pending announcement, and liveness writes announce nothing") {
    PgTestDatabase database;
    auto store = open_store(database.uri(), OpenMode::create);
    auto feed = open_change_feed(database.uri());
    store->register_server("ms1", "127.0.0.1:8250", 1);
    REQUIRE(store->set_config("host", "ms1"));
    store->set_server_state("ms1", "down");
    // The listening backend forwards each NOTIFY when it gets to it; on a
    // loaded machine the third may reach the socket after a first wait has
    // returned. Time to deliver all three makes them pending at once.
    std::this_thread::sleep_for(500ms);
    CHECK(feed->wait(2s));
    CHECK_FALSE(feed->wait(100ms));

    store->heartbeat_server("ms1", 2, 0);
    store->set_server_state("ms1", "down");  // no change: no bump, no announcement
    CHECK_FALSE(store->mark_server_down("ms1", 2));
    CHECK_FALSE(feed->wait(150ms));
}

TEST_CASE("interrupt makes a blocked wait return at once, and a later wait too") {
    PgTestDatabase database;
    open_store(database.uri(), OpenMode::create);
    auto feed = open_change_feed(database.uri());
    std::thread other([&] {
        std::this_thread::sleep_for(100ms);
        feed->interrupt();
    });
    const auto start = Clock::now();
    CHECK_FALSE(feed->wait(10s));
    other.join();
    CHECK(since(start) < 2s);

    feed->interrupt();
    const auto again = Clock::now();
    CHECK_FALSE(feed->wait(10s));
    CHECK(since(again) < 100ms);
}

TEST_CASE("a feed whose backend was killed throws, then listens again") {
    PgTestDatabase database;
    auto store = open_store(database.uri(), OpenMode::create);
    auto feed = open_change_feed(database.uri());
    pg_exec(database.admin_uri(),
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + database.name() +
                "' AND query LIKE 'LISTEN%'");
    const std::string message = error_of([&] { feed->wait(5s); });
    INFO(message);
    CHECK_THAT(message, Catch::Contains("change feed: connection lost"));
    CHECK(message.find(feed_password()) == std::string::npos);

    // The next wait connects and listens again; a change made after that wakes it.
    CHECK_FALSE(feed->wait(50ms));
    REQUIRE(store->set_config("host", "ms2"));
    CHECK(feed->wait(5s));
}

TEST_CASE("a store that lost its database fails fast during the backoff, then reconnects") {
    PgTestDatabase database;
    auto store = open_store(database.uri(), OpenMode::create);
    REQUIRE(store->set_config("host", "ms1"));
    const std::int64_t generation = store->generation();

    pg_exec(database.admin_uri(), "ALTER DATABASE " + database.name() + " ALLOW_CONNECTIONS false");
    pg_exec(
        database.admin_uri(),
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + database.name() + "'");

    const std::string lost = error_of([&] { store->generation(); });
    INFO(lost);
    CHECK_THAT(lost,
               Catch::Contains("PostgreSQL store " + shown_location(database.uri()) +
                               ": reading the generation: connection lost"));

    const std::string refused = error_of([&] { store->generation(); });
    INFO(refused);
    CHECK_THAT(refused,
               Catch::Contains("unreachable (") && Catch::Contains("not currently accepting connections") &&
                   Catch::Contains("next attempt in 0.5 s"));

    // Within the backoff: no attempt, the call fails at once.
    const auto start = Clock::now();
    const std::string fast = error_of([&] { store->list_hosts(); });
    INFO(fast);
    CHECK(since(start) < 50ms);
    CHECK_THAT(fast, Catch::Contains("unreachable (") && Catch::Contains("next attempt in"));
    for (const auto& message : {lost, refused, fast}) {
        CHECK(message.find(feed_password()) == std::string::npos);
    }

    pg_exec(database.admin_uri(), "ALTER DATABASE " + database.name() + " ALLOW_CONNECTIONS true");
    std::this_thread::sleep_for(600ms);
    CHECK(store->generation() == generation);
}
