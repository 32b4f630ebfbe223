// The store's TLS session ticket keys (schema v9), on both backends: made when
// due, two kept, one made when servers race. The material is opaque to the
// store (the caller wraps it), so these tests use recognisable bytes.

#include "common/store/store.hpp"
#include "tests/common/store/store_test_support.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <latch>
#include <set>
#include <string>
#include <vector>

using namespace agentlb::store;
using namespace agentlb::store::test;

namespace {

// Makes keys named "key-0000000000NN" (16 bytes) whose wrapped form holds
// bytes a text column would mangle (NUL, 0xff), and counts its calls.
struct CountingMaker {
    std::atomic<int> calls{0};
    std::set<std::string> unusable;

    TicketKeyMaker maker() {
        return TicketKeyMaker{[this] {
                                  const int n = ++calls;
                                  std::string name = "key-" + std::string(10, '0') + std::to_string(n % 100);
                                  name.resize(16, '0');
                                  std::string wrapped("\0\xff wrapped ", 11);
                                  wrapped += std::to_string(n);
                                  return TicketKeyRecord{name, wrapped, 0};
                              },
                              [this](const TicketKeyRecord& key) { return unusable.count(key.name) == 0; }};
    }
};

std::vector<std::string> names(const std::vector<TicketKeyRecord>& keys) {
    std::vector<std::string> out;
    for (const auto& key : keys) {
        out.push_back(key.name);
    }
    return out;
}

constexpr std::int64_t kPeriod = 100;

}  // namespace

TEST_CASE("ticket keys: the first call makes one, and none is made again within the period") {
    StoreFixture fixture;
    CountingMaker maker;
    CHECK(fixture.store->ticket_keys().empty());

    const auto first = fixture.store->ensure_ticket_keys(1000, kPeriod, maker.maker());
    REQUIRE(first.size() == 1);
    CHECK(maker.calls == 1);
    CHECK(first[0].name.size() == 16);
    CHECK(first[0].wrapped == std::string("\0\xff wrapped 1", 12));
    CHECK(first[0].created_at == 1000);

    const auto again = fixture.store->ensure_ticket_keys(1000 + kPeriod - 1, kPeriod, maker.maker());
    CHECK(maker.calls == 1);
    CHECK(names(again) == names(first));
    CHECK(fixture.store->ticket_keys().size() == 1);
}

TEST_CASE("ticket keys: a rotation makes a new current key and keeps the previous one, never an older one") {
    StoreFixture fixture;
    CountingMaker maker;
    const auto k1 = fixture.store->ensure_ticket_keys(1000, kPeriod, maker.maker());
    const auto k2 = fixture.store->ensure_ticket_keys(1000 + kPeriod, kPeriod, maker.maker());
    REQUIRE(k2.size() == 2);
    CHECK(k2[1].name == k1[0].name);  // newest first: the previous key second
    CHECK(k2[0].created_at == 1000 + kPeriod);

    const auto k3 = fixture.store->ensure_ticket_keys(1000 + 2 * kPeriod, kPeriod, maker.maker());
    REQUIRE(k3.size() == 2);
    CHECK(k3[1].name == k2[0].name);
    CHECK(k3[0].name != k1[0].name);
    CHECK(k3[1].name != k1[0].name);
    CHECK(names(fixture.store->ticket_keys()) == names(k3));
    CHECK(maker.calls == 3);
}

TEST_CASE("ticket keys: a newest key the caller cannot use is replaced at once") {
    StoreFixture fixture;
    CountingMaker maker;
    const auto made = fixture.store->ensure_ticket_keys(1000, kPeriod, maker.maker());
    // As after a CA rotation: the key was wrapped under another CA key.
    maker.unusable.insert(made[0].name);
    const auto replaced = fixture.store->ensure_ticket_keys(1001, kPeriod, maker.maker());
    REQUIRE(replaced.size() == 2);
    CHECK(replaced[0].created_at == 1001);
    CHECK(replaced[1].name == made[0].name);
    // Usable now: nothing more is made.
    fixture.store->ensure_ticket_keys(1002, kPeriod, maker.maker());
    CHECK(maker.calls == 2);
}

TEST_CASE("ticket keys: servers racing for the first key make one") {
    StoreFixture fixture;
    constexpr int kServers = 6;
    CountingMaker maker;
    std::vector<std::vector<std::string>> seen(kServers);
    std::latch opened(kServers);  // every store open before any asks: they really race
    const auto errors = run_on_threads(kServers, [&](int i) {
        auto store = open_store(fixture.db, OpenMode::existing);
        opened.arrive_and_wait();
        seen[static_cast<std::size_t>(i)] = names(store->ensure_ticket_keys(5000, kPeriod, maker.maker()));
    });
    REQUIRE(errors.empty());
    CHECK(maker.calls == 1);
    const auto stored = names(fixture.store->ticket_keys());
    REQUIRE(stored.size() == 1);
    for (const auto& one : seen) {
        CHECK(one == stored);
    }
}

TEST_CASE("ticket keys: a key without its 16-byte name is refused, nothing written") {
    StoreFixture fixture;
    TicketKeyMaker bad{[] { return TicketKeyRecord{"short", "wrapped", 0}; }};
    CHECK_THROWS_AS(fixture.store->ensure_ticket_keys(1000, kPeriod, bad), std::invalid_argument);
    CHECK(fixture.store->ticket_keys().empty());
}

TEST_CASE("ticket keys are not copied by db copy: the servers of the new store make their own") {
    StoreFixture source;
    CountingMaker maker;
    source.store->ensure_ticket_keys(1000, kPeriod, maker.maker());
    const StoreContents contents = source.store->export_contents();
    StoreFixture target;
    REQUIRE(target.store->import_contents(contents));
    CHECK(target.store->ticket_keys().empty());
}
