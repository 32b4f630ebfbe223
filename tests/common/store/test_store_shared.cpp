// Several Store objects on one file, as several processes use it.

#include "common/store/store.hpp"
#include "tests/common/store/store_test_support.hpp"

#include <catch2/catch.hpp>

#include <exception>
#include <latch>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace agentlb::store;
using namespace agentlb::store::test;

TEST_CASE_METHOD(StoreFixture, "two store objects on one file see each other's writes") {
    auto other = open_store(db, OpenMode::create);

    REQUIRE(store->set_config("host", "ms1,ms2"));
    CHECK(other->get_config("host") == std::optional<std::string>("ms1,ms2"));
    REQUIRE(other->set_config("indirect.agent.lb.algorithm", "shuffle"));
    CHECK(store->get_config("indirect.agent.lb.algorithm") == std::optional<std::string>("shuffle"));

    HostRecord h1 = enroll("h1");
    REQUIRE(other->find_host("h1").has_value());
    CHECK(other->find_host("h1")->id == h1.id);
    REQUIRE(other->remove_host("h1"));
    CHECK(store->list_hosts().empty());
    CHECK(store->is_revoked("h1-1"));

    other->register_server("ms9", "10.0.0.9:8250", 5);
    auto servers = store->list_servers();
    REQUIRE(servers.size() == 1);
    CHECK(servers[0].name == "ms9");
    CHECK(store->generation() == other->generation());
}

TEST_CASE_METHOD(StoreFixture,
                 "the generation follows the other object's config writes but not liveness writes") {
    auto other = open_store(db, OpenMode::create);
    HostRecord h1 = enroll("h1");
    other->register_server("ms1", "10.0.0.1:8250", 5);

    const std::int64_t g0 = store->generation();
    CHECK(other->generation() == g0);

    other->heartbeat_server("ms1", 6, 3);
    other->touch_hosts({h1.id}, 6);
    other->set_connected(h1.id, "ms1", 6);
    other->clear_connected_if(h1.id, "ms1");
    CHECK(store->generation() == g0);
    CHECK(store->find_host("h1")->last_seen == 6);
    CHECK(store->list_servers()[0].agents == 3);

    REQUIRE(other->set_config("indirect.agent.lb.check.interval", "30"));
    const std::int64_t g1 = store->generation();
    CHECK(g1 > g0);
    other->set_server_state("ms1", "down");
    CHECK(store->generation() > g1);
}

TEST_CASE("concurrent writers with separate store objects never fail (SQLITE_BUSY, serialization)") {
    TestLocation location;
    const std::string& db = location.db();
    const std::int64_t g0 = open_store(db, OpenMode::create)->generation();

    constexpr int kThreads = 2;
    constexpr int kWrites = 200;
    std::mutex mutex;
    std::vector<std::string> errors;
    std::latch start(kThreads);  // both connections open before anyone writes
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            auto record = [&](std::string error) {
                std::lock_guard lock(mutex);
                errors.push_back(std::move(error));
            };
            std::unique_ptr<Store> store;
            try {
                store = open_store(db, OpenMode::create);
            } catch (const std::exception& e) {
                record(e.what());
            }
            start.arrive_and_wait();
            if (!store) {
                return;
            }
            try {
                for (int i = 0; i < kWrites; ++i) {
                    auto done =
                        store->set_config("indirect.agent.lb.check.interval", std::to_string(t * 1000 + i));
                    if (!done) {
                        record(done.error());
                    }
                    (void)store->generation();  // readers interleave with the writes
                }
            } catch (const std::exception& e) {
                record(e.what());
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    INFO((errors.empty() ? std::string() : errors.front()));
    CHECK(errors.empty());
    auto store = open_store(db, OpenMode::create);
    CHECK(store->generation() == g0 + kThreads * kWrites);
    auto last = store->get_config("indirect.agent.lb.check.interval");
    REQUIRE(last.has_value());
    CHECK((*last == "199" || *last == "1199"));
}

TEST_CASE("several objects creating the same new store at once create the schema once") {
    TestLocation location;
    const std::string& db = location.db();
    constexpr int kThreads = 4;
    const auto errors = run_on_threads(kThreads, [&](int t) {
        auto store = open_store(db, OpenMode::create);
        store->register_server("ms" + std::to_string(t), "addr", 1);
    });
    INFO((errors.empty() ? std::string() : errors.front()));
    CHECK(errors.empty());
    auto store = open_store(db, OpenMode::create);
    CHECK(store->list_servers().size() == kThreads);
    CHECK(store->generation() == kThreads);
}
