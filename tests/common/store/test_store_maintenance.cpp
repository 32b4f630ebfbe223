// Server states, the operator's maintenance requests and rebalance requests
// (schema v4), on both backends.

#include "common/store/store.hpp"
#include "tests/common/store/store_test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace agentlb::store;
using namespace agentlb::store::test;

namespace {

constexpr std::int64_t kStale = 30;  // the stale_after the tests pass

ServerRecord server_named(Store& store, const std::string& name) {
    for (const ServerRecord& server : store.list_servers()) {
        if (server.name == name) {
            return server;
        }
    }
    throw std::runtime_error("no server row " + name);
}

}  // namespace

TEST_CASE_METHOD(StoreFixture, "begin_maintenance of an unknown server is refused and changes nothing") {
    store->register_server("ms1", "10.0.0.1:8250", 100);
    const std::int64_t g0 = store->generation();
    const auto refused = store->begin_maintenance("ms9", 100, kStale);
    REQUIRE_FALSE(refused);
    CHECK(refused.error() == "no management server named \"ms9\" is registered");
    const auto cancelled = store->end_maintenance("ms9");
    REQUIRE_FALSE(cancelled);
    CHECK(cancelled.error() == "no management server named \"ms9\" is registered");
    CHECK(store->generation() == g0);
    CHECK(store->list_servers().size() == 1);
}

TEST_CASE_METHOD(StoreFixture, "begin_maintenance turns an up server preparing, once") {
    store->register_server("ms1", "10.0.0.1:8250", 100);
    store->register_server("ms2", "10.0.0.2:8250", 100);
    CHECK_FALSE(server_named(*store, "ms1").maintenance);
    const std::int64_t g0 = store->generation();

    const auto begun = store->begin_maintenance("ms1", 110, kStale);
    REQUIRE(begun);
    CHECK_FALSE(begun->already);
    CHECK(begun->state == "preparing");
    CHECK(store->generation() == g0 + 1);
    const ServerRecord ms1 = server_named(*store, "ms1");
    CHECK(ms1.maintenance);
    CHECK(ms1.state == "preparing");
    CHECK_FALSE(server_named(*store, "ms2").maintenance);

    // Idempotent: nothing written, even when the check would now refuse it.
    store->set_server_state("ms2", "down");
    const std::int64_t g1 = store->generation();
    const auto again = store->begin_maintenance("ms1", 120, kStale);
    REQUIRE(again);
    CHECK(again->already);
    CHECK(again->state == "preparing");
    CHECK(store->generation() == g1);
}

TEST_CASE_METHOD(StoreFixture, "begin_maintenance refuses to leave no management server up") {
    store->register_server("ms1", "10.0.0.1:8250", 100);

    SECTION("the only server") {
        const auto refused = store->begin_maintenance("ms1", 100, kStale);
        REQUIRE_FALSE(refused);
        CHECK(refused.error() ==
              "management server \"ms1\" cannot go into maintenance: it would leave no management server up "
              "(it is the only one)");
    }
    SECTION("the other is down, or up with a stale heartbeat, or in maintenance") {
        store->register_server("ms2", "10.0.0.2:8250", 100);
        store->register_server("ms3", "10.0.0.3:8250", 100);
        store->register_server("ms4", "10.0.0.4:8250", 100);
        store->set_server_state("ms2", "down");
        store->heartbeat_server("ms1", 200, 0);
        store->heartbeat_server("ms3", 169, 0);  // 31 s before now: stale
        store->heartbeat_server("ms4", 200, 0);
        REQUIRE(store->begin_maintenance("ms4", 200, kStale));  // ms1 is up and fresh
        const std::int64_t g0 = store->generation();

        const auto refused = store->begin_maintenance("ms1", 200, kStale);
        REQUIRE_FALSE(refused);
        CHECK(refused.error() ==
              "management server \"ms1\" cannot go into maintenance: it would leave no management server up "
              "(others: \"ms2\": down; \"ms3\": up, but no heartbeat for 31 s; \"ms4\": preparing, "
              "maintenance requested)");
        CHECK(store->generation() == g0);
        CHECK_FALSE(server_named(*store, "ms1").maintenance);
        CHECK(server_named(*store, "ms1").state == "up");

        // A heartbeat exactly stale_after old still counts.
        store->heartbeat_server("ms3", 170, 0);
        const auto begun = store->begin_maintenance("ms1", 200, kStale);
        REQUIRE(begun);
        CHECK(begun->state == "preparing");
    }
}

TEST_CASE_METHOD(StoreFixture, "begin_maintenance of a server that is not up keeps its state") {
    store->register_server("ms1", "10.0.0.1:8250", 100);
    store->register_server("ms2", "10.0.0.2:8250", 100);
    store->set_server_state("ms1", "down");
    const auto begun = store->begin_maintenance("ms1", 100, kStale);
    REQUIRE(begun);
    CHECK_FALSE(begun->already);
    CHECK(begun->state == "down");
    CHECK(server_named(*store, "ms1").maintenance);
    CHECK(server_named(*store, "ms1").state == "down");
}

TEST_CASE_METHOD(StoreFixture, "end_maintenance clears the request and brings the server back up") {
    store->register_server("ms1", "10.0.0.1:8250", 100);
    store->register_server("ms2", "10.0.0.2:8250", 100);
    const std::int64_t g0 = store->generation();
    const auto not_requested = store->end_maintenance("ms1");
    REQUIRE(not_requested);
    CHECK(not_requested->already);
    CHECK(not_requested->state == "up");
    CHECK(store->generation() == g0);

    for (const std::string reached : {"preparing", "maintenance", "down"}) {
        INFO(reached);
        REQUIRE(store->begin_maintenance("ms1", 100, kStale));
        if (reached != "preparing") {
            store->set_server_state("ms1", reached);
        }
        const std::int64_t g1 = store->generation();
        const auto ended = store->end_maintenance("ms1");
        REQUIRE(ended);
        CHECK_FALSE(ended->already);
        const std::string after = reached == "down" ? "down" : "up";
        CHECK(ended->state == after);
        CHECK(store->generation() == g1 + 1);
        const ServerRecord ms1 = server_named(*store, "ms1");
        CHECK_FALSE(ms1.maintenance);
        CHECK(ms1.state == after);
        store->set_server_state("ms1", "up");
    }
}

TEST_CASE_METHOD(StoreFixture, "the maintenance request survives restarts and being marked down") {
    store->register_server("ms1", "10.0.0.1:8250", 100);
    store->register_server("ms2", "10.0.0.2:8250", 100);
    HostRecord h1 = enroll("h1");
    store->set_connected(h1.id, "ms1", 100);
    REQUIRE(store->begin_maintenance("ms1", 100, kStale));

    // A peer judges it dead while it drains (state preparing, not up).
    const std::int64_t g0 = store->generation();
    CHECK(store->mark_server_down("ms1", 100));
    CHECK(store->generation() == g0 + 1);
    CHECK_FALSE(store->find_host("h1")->connected_to.has_value());
    ServerRecord ms1 = server_named(*store, "ms1");
    CHECK(ms1.state == "down");
    CHECK(ms1.maintenance);

    // A live server putting itself back drains again.
    store->rejoin_server("ms1", "10.0.0.1:8250", 100, 110, {});
    ms1 = server_named(*store, "ms1");
    CHECK(ms1.state == "preparing");
    CHECK(ms1.maintenance);

    // A restart holds no agents: the maintenance is reached at once.
    store->register_server("ms1", "10.0.0.9:8250", 120);
    ms1 = server_named(*store, "ms1");
    CHECK(ms1.state == "maintenance");
    CHECK(ms1.maintenance);
    CHECK(ms1.address == "10.0.0.9:8250");

    // A server in maintenance can still be marked down, and comes back in maintenance.
    CHECK(store->mark_server_down("ms1", 120));
    CHECK(server_named(*store, "ms1").state == "down");
    store->register_server("ms1", "10.0.0.9:8250", 130);
    CHECK(server_named(*store, "ms1").state == "maintenance");

    // Only the cancel clears it; a restart afterwards is up.
    REQUIRE(store->end_maintenance("ms1"));
    store->register_server("ms1", "10.0.0.9:8250", 140);
    ms1 = server_named(*store, "ms1");
    CHECK(ms1.state == "up");
    CHECK_FALSE(ms1.maintenance);
    store->rejoin_server("ms1", "10.0.0.9:8250", 140, 150, {});
    CHECK(server_named(*store, "ms1").state == "up");

    // New rows, registered or put back, start without a request.
    store->register_server("ms3", "10.0.0.3:8250", 150);
    store->rejoin_server("ms4", "10.0.0.4:8250", 150, 150, {});
    CHECK_FALSE(server_named(*store, "ms3").maintenance);
    CHECK(server_named(*store, "ms4").state == "up");
    CHECK_FALSE(server_named(*store, "ms4").maintenance);
}

TEST_CASE_METHOD(StoreFixture, "compare_and_set_server_state changes only the expected state") {
    store->register_server("ms1", "10.0.0.1:8250", 100);
    const std::int64_t g0 = store->generation();

    CHECK_FALSE(store->compare_and_set_server_state("ms1", "preparing", "maintenance"));
    CHECK_FALSE(store->compare_and_set_server_state("ms9", "up", "preparing"));
    CHECK(store->generation() == g0);
    CHECK(server_named(*store, "ms1").state == "up");

    CHECK(store->compare_and_set_server_state("ms1", "up", "preparing"));
    CHECK(store->generation() == g0 + 1);
    CHECK(server_named(*store, "ms1").state == "preparing");
    CHECK(store->compare_and_set_server_state("ms1", "preparing", "maintenance"));
    CHECK(server_named(*store, "ms1").state == "maintenance");
    CHECK(store->generation() == g0 + 2);
    // The maintenance flag is the operator's: a state change leaves it alone.
    CHECK_FALSE(server_named(*store, "ms1").maintenance);

    CHECK_THROWS_AS(store->compare_and_set_server_state("ms1", "maintenance", "sleeping"),
                    std::invalid_argument);
    CHECK_THROWS_AS(store->compare_and_set_server_state("ms1", "asleep", "up"), std::invalid_argument);
    CHECK_THROWS_AS(store->compare_and_set_server_state("ms1", "maintenance", "maintenance"),
                    std::invalid_argument);
    CHECK(server_named(*store, "ms1").state == "maintenance");
    CHECK(store->generation() == g0 + 2);
}

TEST_CASE_METHOD(StoreFixture, "set_server_state takes each of the four states") {
    store->register_server("ms1", "10.0.0.1:8250", 100);
    for (const std::string state : {"preparing", "maintenance", "down", "up"}) {
        const std::int64_t g0 = store->generation();
        store->set_server_state("ms1", state);
        CHECK(server_named(*store, "ms1").state == state);
        CHECK(store->generation() == g0 + 1);
    }
}

TEST_CASE_METHOD(StoreFixture, "rebalance requests get ascending ids and name a registered server") {
    CHECK(store->last_rebalance_id() == 0);
    CHECK(store->rebalance_requests_after(0).empty());
    store->register_server("ms1", "10.0.0.1:8250", 100);
    const std::int64_t g0 = store->generation();

    const auto refused = store->request_rebalance(std::string_view("ms9"), 100);
    REQUIRE_FALSE(refused);
    CHECK(refused.error() == "no management server named \"ms9\" is registered");
    CHECK(store->generation() == g0);
    CHECK(store->last_rebalance_id() == 0);

    const auto first = store->request_rebalance(std::nullopt, 100);
    REQUIRE(first);
    CHECK(store->generation() == g0 + 1);
    const auto second = store->request_rebalance(std::string_view("ms1"), 101);
    REQUIRE(second);
    CHECK(*second > *first);
    CHECK(store->last_rebalance_id() == *second);

    const auto all = store->rebalance_requests_after(0);
    REQUIRE(all.size() == 2);
    CHECK(all[0].id == *first);
    CHECK_FALSE(all[0].target.has_value());
    CHECK(all[0].requested_at == 100);
    CHECK(all[1].id == *second);
    CHECK(all[1].target == std::optional<std::string>("ms1"));
    CHECK(all[1].requested_at == 101);
    const auto newer = store->rebalance_requests_after(*first);
    REQUIRE(newer.size() == 1);
    CHECK(newer[0].id == *second);
    CHECK(store->rebalance_requests_after(*second).empty());
}

TEST_CASE_METHOD(StoreFixture,
                 "requests older than a day go when a new one is made, and ids are not reused") {
    const auto old = store->request_rebalance(std::nullopt, 1000);
    const auto day_old = store->request_rebalance(std::nullopt, 2000);
    REQUIRE(old);
    REQUIRE(day_old);
    const std::int64_t now = 2000 + kRebalanceKeepSeconds;  // day_old is exactly a day old: kept
    const auto fresh = store->request_rebalance(std::nullopt, now);
    REQUIRE(fresh);
    auto kept = store->rebalance_requests_after(0);
    REQUIRE(kept.size() == 2);
    CHECK(kept[0].id == *day_old);
    CHECK(kept[1].id == *fresh);

    // Everything but the newest pruned: the next id still follows the last one given.
    const auto later = store->request_rebalance(std::nullopt, now + 10 * kRebalanceKeepSeconds);
    REQUIRE(later);
    CHECK(*later > *fresh);
    kept = store->rebalance_requests_after(0);
    REQUIRE(kept.size() == 1);
    CHECK(kept[0].id == *later);
    CHECK(store->last_rebalance_id() == *later);
}

TEST_CASE("two operators draining the two up servers at once never drain both") {
    TestLocation location;
    const std::string& db = location.db();
    auto setup = open_store(db, OpenMode::create);
    setup->register_server("ms1", "10.0.0.1:8250", 100);
    setup->register_server("ms2", "10.0.0.2:8250", 100);
    std::unique_ptr<Store> stores[] = {open_store(db, OpenMode::create), open_store(db, OpenMode::create)};
    const std::string names[] = {"ms1", "ms2"};

    constexpr int kRounds = 200;
    for (int round = 0; round < kRounds; ++round) {
        INFO("round " << round);
        std::atomic<int> begun{0};
        std::latch start(2);  // both requests go out together
        const auto errors = run_on_threads(2, [&](int i) {
            start.arrive_and_wait();
            if (stores[i]->begin_maintenance(names[i], 100, kStale)) {
                ++begun;
            }
        });
        INFO((errors.empty() ? std::string() : errors.front()));
        REQUIRE(errors.empty());
        REQUIRE(begun.load() == 1);
        const auto servers = setup->list_servers();
        REQUIRE(servers.size() == 2);
        CHECK(servers[0].maintenance != servers[1].maintenance);
        for (const std::string& name : names) {
            REQUIRE(setup->end_maintenance(name));
        }
    }
}

TEST_CASE("rebalance requests made at once on two store objects get distinct ascending ids") {
    TestLocation location;
    const std::string& db = location.db();
    std::unique_ptr<Store> stores[] = {open_store(db, OpenMode::create), open_store(db, OpenMode::create)};
    constexpr int kEach = 25;
    std::vector<std::int64_t> ids[2];
    std::latch start(2);
    const auto errors = run_on_threads(2, [&](int i) {
        start.arrive_and_wait();
        for (int n = 0; n < kEach; ++n) {
            const auto id = stores[i]->request_rebalance(std::nullopt, 100 + n);
            if (!id) {
                throw std::runtime_error(id.error());
            }
            ids[i].push_back(*id);
        }
    });
    INFO((errors.empty() ? std::string() : errors.front()));
    REQUIRE(errors.empty());
    for (const auto& mine : ids) {
        CHECK(std::is_sorted(mine.begin(), mine.end()));  // each caller sees its ids ascend
    }
    const auto all = stores[0]->rebalance_requests_after(0);
    REQUIRE(all.size() == 2 * kEach);
    for (std::size_t n = 1; n < all.size(); ++n) {
        CHECK(all[n].id > all[n - 1].id);
    }
    CHECK(stores[1]->last_rebalance_id() == all.back().id);
}
