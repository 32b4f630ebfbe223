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

TEST_CASE_METHOD(StoreFixture, "mark_server_down acts only on the heartbeat that was judged stale") {
    store->register_server("ms1", "10.0.0.1:8250", 100);
    HostRecord h1 = enroll("h1");
    HostRecord h2 = enroll("h2");
    store->set_connected(h1.id, "ms1", 100);
    store->set_connected(h2.id, "ms2", 100);
    const std::int64_t g0 = store->generation();

    // It wrote a heartbeat after being judged: left alone.
    store->heartbeat_server("ms1", 104, 1);
    CHECK_FALSE(store->mark_server_down("ms1", 100));
    CHECK(store->list_servers()[0].state == "up");
    CHECK(store->find_host("h1")->connected_to == std::optional<std::string>("ms1"));
    CHECK(store->generation() == g0);

    CHECK(store->mark_server_down("ms1", 104));
    CHECK(store->list_servers()[0].state == "down");
    CHECK_FALSE(store->find_host("h1")->connected_to.has_value());
    CHECK(store->find_host("h2")->connected_to == std::optional<std::string>("ms2"));
    CHECK(store->generation() == g0 + 1);
    // Already down: nothing more.
    CHECK_FALSE(store->mark_server_down("ms1", 104));
    CHECK(store->generation() == g0 + 1);
}

TEST_CASE_METHOD(StoreFixture, "rejoin_server puts a live server back up and restores its hosts' records") {
    store->register_server("ms1", "10.0.0.1:8250", 100);
    HostRecord h1 = enroll("h1");
    HostRecord h2 = enroll("h2");
    HostRecord h3 = enroll("h3");
    store->set_connected(h1.id, "ms1", 100);
    store->set_connected(h2.id, "ms1", 100);
    store->set_connected(h3.id, "ms1", 100);
    REQUIRE(store->mark_server_down("ms1", 100));
    store->set_connected(h3.id, "ms2", 105);  // moved while ms1 was counted down
    const std::int64_t g0 = store->generation();

    const auto rejoin = store->rejoin_server("ms1", "10.0.0.1:8250", 90, 110, {h1.id, h2.id, h3.id});
    CHECK(rejoin.restored == 2);
    REQUIRE(rejoin.elsewhere.size() == 1);
    CHECK(rejoin.elsewhere[0] == std::pair<std::int64_t, std::string>(h3.id, "ms2"));
    auto servers = store->list_servers();
    REQUIRE(servers.size() == 1);
    CHECK(servers[0].state == "up");
    CHECK(servers[0].last_heartbeat == 110);
    CHECK(servers[0].started_at == 100);  // the row was kept
    CHECK(store->find_host("h1")->connected_to == std::optional<std::string>("ms1"));
    CHECK(store->find_host("h2")->connected_to == std::optional<std::string>("ms1"));
    CHECK(store->find_host("h3")->connected_to == std::optional<std::string>("ms2"));
    CHECK(store->generation() == g0 + 1);

    // A deleted row comes back whole; records that still name it stay.
    const auto again = store->rejoin_server("ms9", "10.0.0.9:8250", 95, 120, {h1.id});
    CHECK(again.restored == 0);
    CHECK(again.elsewhere.size() == 1);
    CHECK(store->list_servers().size() == 2);
    CHECK(store->list_servers()[1].started_at == 95);
}

TEST_CASE_METHOD(StoreFixture, "a session recorded on another server is handed to that server once") {
    HostRecord h1 = enroll("h1");
    HostRecord h2 = enroll("h2");
    const std::int64_t g0 = store->generation();
    store->set_connected(h1.id, "ms1", 10);
    store->set_connected(h1.id, "ms1", 11);  // same server: nothing superseded
    store->set_connected(h2.id, "ms1", 11);
    CHECK(store->take_superseded("ms1").empty());

    store->set_connected(h1.id, "ms2", 12);
    store->set_connected(h2.id, "ms2", 13);
    const auto taken = store->take_superseded("ms1");
    REQUIRE(taken.size() == 2);
    CHECK(taken[0].host_id == h1.id);
    CHECK(taken[0].by == "ms2");
    CHECK(taken[0].at == 12);
    CHECK(taken[1].host_id == h2.id);
    CHECK(store->take_superseded("ms1").empty());
    CHECK(store->take_superseded("ms2").empty());
    CHECK(store->generation() == g0);

    // An empty record names the claimer; a record naming another is kept.
    CHECK(store->claim_if_unconnected(h1.id, "ms1", 20) == std::optional<std::string>("ms2"));
    REQUIRE(store->clear_connected_if(h1.id, "ms2"));
    CHECK(store->claim_if_unconnected(h1.id, "ms1", 21) == std::optional<std::string>("ms1"));
    CHECK_FALSE(store->claim_if_unconnected(999, "ms1", 21).has_value());

    // A server marked down or started afresh holds nothing: its entries go.
    store->register_server("ms1", "10.0.0.1:8250", 30);
    store->set_connected(h1.id, "ms1", 30);
    store->set_connected(h1.id, "ms2", 31);
    store->register_server("ms1", "10.0.0.1:8250", 32);
    CHECK(store->take_superseded("ms1").empty());
}

TEST_CASE_METHOD(StoreFixture,
                 "set_peer_address records a server's peer link, bumping the generation on a change") {
    store->register_server("ms1", "10.0.0.1:8250", 100);
    store->register_server("ms2", "10.0.0.2:8250", 100);
    for (const auto& server : store->list_servers()) {
        CHECK(server.peer_address.empty());  // none until the server names one
    }
    const std::int64_t g0 = store->generation();

    store->set_peer_address("ms1", "10.0.0.1:8260");
    auto servers = store->list_servers();
    REQUIRE(servers.size() == 2);
    CHECK(servers[0].peer_address == "10.0.0.1:8260");
    CHECK(servers[1].peer_address.empty());
    CHECK(store->generation() == g0 + 1);

    // The same address again, or an unknown server: nothing written, no bump.
    store->set_peer_address("ms1", "10.0.0.1:8260");
    store->set_peer_address("nobody", "10.0.0.9:8260");
    CHECK(store->generation() == g0 + 1);
    servers = store->list_servers();
    REQUIRE(servers.size() == 2);
    CHECK(servers[0].name == "ms1");
    CHECK(servers[1].name == "ms2");
    CHECK(servers[1].peer_address.empty());

    // Heartbeats, a restart, being marked down and rejoining keep it.
    store->heartbeat_server("ms1", 110, 3);
    store->register_server("ms1", "10.0.0.1:8250", 120);
    REQUIRE(store->mark_server_down("ms1", 120));
    store->rejoin_server("ms1", "10.0.0.1:8250", 120, 130, {});
    CHECK(store->list_servers()[0].peer_address == "10.0.0.1:8260");

    // '' says the server has no peer link (any more).
    const std::int64_t g1 = store->generation();
    store->set_peer_address("ms1", "");
    CHECK(store->list_servers()[0].peer_address.empty());
    CHECK(store->generation() == g1 + 1);
    store->set_peer_address("ms2", "[fd00::2]:8260");
    CHECK(store->list_servers()[1].peer_address == "[fd00::2]:8260");
}
