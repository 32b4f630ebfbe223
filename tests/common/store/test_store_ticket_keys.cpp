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

TEST_CASE("ticket keys: a key replaced within the second it was made is still followed by a newer one") {
    StoreFixture fixture;
    // Names that sort backwards: the replacement must come first by its date, not its name.
    std::vector<std::string> names{std::string(16, 'z'), std::string(16, 'a')};
    std::size_t made = 0;
    bool first_usable = true;
    TicketKeyMaker maker{[&] {
                             return TicketKeyRecord{names.at(made++), "wrapped", 0};
                         },
                         [&](const TicketKeyRecord& key) { return key.name != names[0] || first_usable; }};
    fixture.store->ensure_ticket_keys(1000, kPeriod, maker);
    first_usable = false;
    const auto replaced = fixture.store->ensure_ticket_keys(1000, kPeriod, maker);
    REQUIRE(replaced.size() == 2);
    CHECK(replaced[0].name == names[1]);
    CHECK(replaced[0].created_at == 1001);
    CHECK(replaced[1].name == names[0]);
    fixture.store->ensure_ticket_keys(1000, kPeriod, maker);  // the newest is usable: nothing made
    CHECK(made == 2);
}
