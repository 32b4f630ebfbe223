#include "common/store/store.hpp"
#include "tests/common/store/store_test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <tuple>

using namespace agentlb::store;
using namespace agentlb::store::test;

TEST_CASE_METHOD(StoreFixture, "host ids ascend in redemption order and are never reused after a removal") {
    CHECK(enroll("h1").id == 1);
    CHECK(enroll("h2").id == 2);
    CHECK(enroll("h3").id == 3);
    REQUIRE(store->remove_host("h3"));
    REQUIRE(store->remove_host("h1"));
    CHECK(enroll("h4").id == 4);
    CHECK(enroll("h1").id == 5);

    auto hosts = store->list_hosts();
    std::vector<std::int64_t> ids;
    for (const auto& host : hosts) {
        ids.push_back(host.id);
    }
    CHECK(ids == std::vector<std::int64_t>{2, 4, 5});
    CHECK(store->find_host_by_id(5)->name == "h1");
    CHECK_FALSE(store->find_host_by_id(3).has_value());
    CHECK_FALSE(store->find_host("h3").has_value());
}

TEST_CASE_METHOD(StoreFixture, "a zone's hosts by ascending id, and every host by id") {
    enroll("a1", std::string("z1"));
    enroll("b1", std::string("z2"));
    enroll("a2", std::string("z1"));
    enroll("d1");
    enroll("d2", std::string(""));  // an empty --zone counts as not given

    CHECK(store->host_ids_in_zone("z1") == std::vector<std::int64_t>{1, 3});
    CHECK(store->host_ids_in_zone("default") == std::vector<std::int64_t>{4, 5});
    CHECK(store->host_ids_in_zone("nowhere").empty());
    // Servers group list_hosts() by zone themselves (mgmt::host_ids_by_zone_of), relying on this order.
    std::vector<std::int64_t> ids;
    std::vector<std::string> zones;
    for (const auto& host : store->list_hosts()) {
        ids.push_back(host.id);
        zones.push_back(host.zone);
    }
    CHECK(ids == std::vector<std::int64_t>{1, 2, 3, 4, 5});
    CHECK(zones == std::vector<std::string>{"z1", "z2", "z1", "default", "default"});
}

TEST_CASE_METHOD(StoreFixture, "remove_host revokes every serial of the host and bumps the generation") {
    HostRecord h1 = enroll("h1");
    enroll("h2");
    store->record_certificate(h1.id, IssuedCertificate{"pem", "renewed-1", 2000});
    store->record_certificate(h1.id, IssuedCertificate{"pem", "renewed-2", 3000});
    CHECK(store->revoked_serials().empty());
    const std::int64_t g0 = store->generation();

    auto removed = store->remove_host("h1");
    REQUIRE(removed);
    CHECK(*removed == std::vector<std::string>{"h1-1", "renewed-1", "renewed-2"});
    CHECK(store->generation() == g0 + 1);
    CHECK(store->revoked_serials() == std::vector<std::string>{"h1-1", "renewed-1", "renewed-2"});
    for (const auto& serial : *removed) {
        CHECK(store->is_revoked(serial));
    }
    CHECK_FALSE(store->is_revoked("h2-2"));
    auto certificates = store->certificates_of("h1");
    REQUIRE(certificates.size() == 3);
    CHECK(std::all_of(certificates.begin(), certificates.end(), [](const auto& c) { return c.revoked; }));
    CHECK(certificates[1].not_after == 2000);
    CHECK_FALSE(store->find_host("h1").has_value());
    CHECK(store->list_hosts().size() == 1);
}

TEST_CASE_METHOD(StoreFixture, "removing an unknown host is refused and changes nothing") {
    enroll("h1");
    const std::int64_t g0 = store->generation();
    auto removed = store->remove_host("ghost");
    REQUIRE_FALSE(removed);
    CHECK_THAT(removed.error(), Catch::Matchers::Contains("\"ghost\""));
    CHECK(store->generation() == g0);
    CHECK(store->list_hosts().size() == 1);
}

TEST_CASE_METHOD(StoreFixture, "a renewal for a removed host is recorded as revoked") {
    HostRecord h1 = enroll("h1");
    REQUIRE(store->remove_host("h1"));
    store->record_certificate(h1.id, IssuedCertificate{"pem", "late", 5000});
    CHECK(store->is_revoked("late"));
    CHECK_FALSE(store->is_revoked("never-issued"));
}

TEST_CASE_METHOD(StoreFixture,
                 "connected_counts: hosts by zone and server, connected ones only, in byte order") {
    CHECK(store->connected_counts().empty());
    const auto a1 = enroll("a1", std::string("z1"));
    const auto a2 = enroll("a2", std::string("z1"));
    const auto a3 = enroll("a3", std::string("z1"));
    const auto b1 = enroll("b1", std::string("Z2"));
    enroll("b2", std::string("Z2"));  // never connected: not counted
    store->set_connected(a1.id, "ms2", 20);
    store->set_connected(a2.id, "ms2", 20);
    store->set_connected(a3.id, "MS1", 20);
    store->set_connected(b1.id, "ms1", 20);

    auto counts = store->connected_counts();
    std::vector<std::tuple<std::string, std::string, std::int64_t>> rows;
    for (const auto& c : counts) {
        rows.emplace_back(c.zone, c.server, c.hosts);
    }
    // Byte order on both backends: upper case first, whatever the database's collation.
    CHECK(rows == std::vector<std::tuple<std::string, std::string, std::int64_t>>{
                      {"Z2", "ms1", 1}, {"z1", "MS1", 1}, {"z1", "ms2", 2}});

    // A host that moves counts where it is now; a cleared record not at all.
    store->set_connected(a1.id, "MS1", 21);
    CHECK(store->clear_connected_if(b1.id, "ms1"));
    rows.clear();
    for (const auto& c : store->connected_counts()) {
        rows.emplace_back(c.zone, c.server, c.hosts);
    }
    CHECK(rows == std::vector<std::tuple<std::string, std::string, std::int64_t>>{{"z1", "MS1", 2},
                                                                                  {"z1", "ms2", 1}});
}

TEST_CASE_METHOD(StoreFixture, "set_connected: the newest session wins, an old session clears only its own") {
    HostRecord h1 = enroll("h1");
    HostRecord h2 = enroll("h2");
    const std::int64_t g0 = store->generation();

    store->set_connected(h1.id, "ms1", 20);
    store->set_connected(h1.id, "ms2", 21);  // make-before-break: the new session
    CHECK(store->find_host("h1")->connected_to == std::optional<std::string>("ms2"));
    CHECK(store->find_host("h1")->last_seen == 21);

    CHECK_FALSE(store->clear_connected_if(h1.id, "ms1"));  // the old session closes
    CHECK(store->find_host("h1")->connected_to == std::optional<std::string>("ms2"));
    CHECK(store->clear_connected_if(h1.id, "ms2"));
    CHECK_FALSE(store->find_host("h1")->connected_to.has_value());

    store->set_connected(h1.id, "ms1", 30);
    store->set_connected(h2.id, "ms1", 30);
    store->clear_connected_for_server("ms1");
    CHECK_FALSE(store->find_host("h1")->connected_to.has_value());
    CHECK_FALSE(store->find_host("h2")->connected_to.has_value());

    CHECK(store->generation() == g0);
}

TEST_CASE_METHOD(StoreFixture,
                 "apply_connection_changes: a group of set_connected and clear_connected_if, in order") {
    HostRecord h1 = enroll("h1");
    HostRecord h2 = enroll("h2");
    HostRecord h3 = enroll("h3");
    store->set_connected(h3.id, "ms2", 5);  // ms2 holds h3: ms1's clear must not erase it
    const std::int64_t g0 = store->generation();
    using Kind = ConnectionChange::Kind;

    const std::vector<ConnectionChange> group{{Kind::connect, h1.id},
                                              {Kind::connect, h2.id},
                                              {Kind::clear, h2.id},  // h2 came and went: cleared
                                              {Kind::clear, h3.id},
                                              {Kind::connect, 999},  // no such host
                                              {Kind::connect, h2.id}};
    const auto changed = store->apply_connection_changes("ms1", group, 40);
    CHECK(changed == std::vector<bool>{true, true, true, false, false, true});
    CHECK(store->find_host("h1")->connected_to == std::optional<std::string>("ms1"));
    CHECK(store->find_host("h1")->last_seen == 40);
    CHECK(store->find_host("h2")->connected_to == std::optional<std::string>("ms1"));
    CHECK(store->find_host("h3")->connected_to == std::optional<std::string>("ms2"));

    // The same supersession record as set_connected: ms2 learns of h3's new session.
    CHECK(store->apply_connection_changes("ms1", {{Kind::connect, h3.id}}, 41) == std::vector<bool>{true});
    const auto superseded = store->take_superseded("ms2");
    REQUIRE(superseded.size() == 1);
    CHECK(superseded[0].host_id == h3.id);
    CHECK(superseded[0].by == "ms1");

    CHECK(store->apply_connection_changes("ms1", {}, 50).empty());
    CHECK(store->generation() == g0);
}

TEST_CASE_METHOD(StoreFixture, "reading_together runs the reads, and a throw leaves the store usable") {
    HostRecord h1 = enroll("h1");
    std::optional<HostRecord> found;
    std::int64_t generation = -1;
    store->reading_together([&] {
        found = store->find_host("h1");
        generation = store->generation();
    });
    REQUIRE(found.has_value());
    CHECK(found->id == h1.id);
    CHECK(generation == store->generation());

    CHECK_THROWS_WITH(store->reading_together([&] {
        (void)store->find_host("h1");
        throw std::runtime_error("stop here");
    }),
                      "stop here");
    // No transaction left open: a write goes through and is seen.
    store->set_connected(h1.id, "ms1", 20);
    CHECK(store->find_host("h1")->connected_to == std::optional<std::string>("ms1"));
}

TEST_CASE_METHOD(StoreFixture,
                 "touch_hosts updates last_seen of the listed hosts without a generation bump") {
    HostRecord h1 = enroll("h1");
    HostRecord h2 = enroll("h2");
    HostRecord h3 = enroll("h3");
    CHECK(h1.last_seen == 0);
    const std::int64_t g0 = store->generation();

    store->touch_hosts({h1.id, h3.id, 999}, 50);
    store->touch_hosts({}, 60);
    CHECK(store->find_host("h1")->last_seen == 50);
    CHECK(store->find_host("h2")->last_seen == 0);
    CHECK(store->find_host("h3")->last_seen == 50);
    store->touch_hosts({h1.id}, 40);  // a late batch never moves last_seen back
    CHECK(store->find_host("h1")->last_seen == 50);
    CHECK(store->generation() == g0);
    (void)h2;
}
