#include "common/store/store.hpp"
#include "tests/common/store/store_test_support.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace agentlb::store;
using namespace agentlb::store::test;

TEST_CASE_METHOD(StoreFixture, "register_server adds a server that is up and bumps the generation") {
    const std::int64_t g0 = store->generation();
    store->register_server("ms2", "10.0.0.2:8250", 100);
    store->register_server("ms1", "10.0.0.1:8250", 101);
    CHECK(store->generation() == g0 + 2);

    auto servers = store->list_servers();
    REQUIRE(servers.size() == 2);
    CHECK(servers[0].name == "ms1");
    CHECK(servers[0].address == "10.0.0.1:8250");
    CHECK(servers[0].state == "up");
    CHECK(servers[0].last_heartbeat == 101);
    CHECK(servers[0].started_at == 101);
    CHECK(servers[0].agents == 0);
    CHECK(servers[1].name == "ms2");
}

TEST_CASE_METHOD(StoreFixture, "heartbeats update liveness without bumping the generation") {
    store->register_server("ms1", "10.0.0.1:8250", 100);
    const std::int64_t g0 = store->generation();
    store->heartbeat_server("ms1", 110, 42);
    store->heartbeat_server("unknown", 110, 1);
    auto servers = store->list_servers();
    REQUIRE(servers.size() == 1);
    CHECK(servers[0].last_heartbeat == 110);
    CHECK(servers[0].agents == 42);
    CHECK(servers[0].started_at == 100);
    CHECK(store->generation() == g0);
}

TEST_CASE_METHOD(StoreFixture, "set_server_state bumps the generation only when the state changes") {
    store->register_server("ms1", "10.0.0.1:8250", 100);
    const std::int64_t g0 = store->generation();
    store->set_server_state("ms1", "up");
    CHECK(store->generation() == g0);
    store->set_server_state("ms1", "down");
    CHECK(store->generation() == g0 + 1);
    CHECK(store->list_servers()[0].state == "down");
    store->set_server_state("ms1", "down");
    store->set_server_state("nobody", "down");
    CHECK(store->generation() == g0 + 1);
    CHECK_THROWS_AS(store->set_server_state("ms1", "sleeping"), std::invalid_argument);
    CHECK(store->list_servers()[0].state == "down");
}

TEST_CASE_METHOD(StoreFixture, "a restart under the same name takes over the server's row") {
    store->register_server("ms1", "10.0.0.1:8250", 100);
    store->heartbeat_server("ms1", 150, 7);
    store->set_server_state("ms1", "down");
    HostRecord h1 = enroll("h1");
    HostRecord h2 = enroll("h2");
    store->set_connected(h1.id, "ms1", 150);
    store->set_connected(h2.id, "ms2", 150);
    const std::int64_t g0 = store->generation();

    store->register_server("ms1", "10.0.0.9:8250", 200);
    auto servers = store->list_servers();
    REQUIRE(servers.size() == 1);
    CHECK(servers[0].address == "10.0.0.9:8250");
    CHECK(servers[0].state == "up");
    CHECK(servers[0].started_at == 200);
    CHECK(servers[0].last_heartbeat == 200);
    CHECK(servers[0].agents == 0);
    CHECK(store->generation() == g0 + 1);
    // The restarted process holds no sessions; other servers' hosts are untouched.
    CHECK_FALSE(store->find_host("h1")->connected_to.has_value());
    CHECK(store->find_host("h2")->connected_to == std::optional<std::string>("ms2"));
}
