#include "certs/revocation.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace agentlb::certs;

TEST_CASE("RevocationList starts empty and replace swaps the whole set") {
    RevocationList list;
    CHECK(list.size() == 0);
    CHECK_FALSE(list.is_revoked("1a"));
    list.replace({"1a", "2b", "1a"});
    CHECK(list.size() == 2);
    CHECK(list.is_revoked("1a"));
    CHECK(list.is_revoked("2b"));
    CHECK_FALSE(list.is_revoked("3c"));
    list.replace({"3c"});
    CHECK_FALSE(list.is_revoked("1a"));
    CHECK(list.is_revoked("3c"));
}

TEST_CASE("RevocationList compares serials without case or leading zeros") {
    RevocationList list;
    list.replace({"0A1B"});
    CHECK(list.is_revoked("a1b"));
    CHECK(list.is_revoked("A1B"));
    CHECK(list.is_revoked("000a1b"));
    CHECK_FALSE(list.is_revoked("a1"));
}

TEST_CASE("RevocationList::add revokes one more serial at once") {
    RevocationList list;
    list.replace({"10", "30"});
    list.add("20");
    list.add("20");
    CHECK(list.size() == 3);
    CHECK(list.is_revoked("10"));
    CHECK(list.is_revoked("20"));
    CHECK(list.is_revoked("30"));
}

TEST_CASE("RevocationList readers and writers can run at the same time") {
    RevocationList list;
    list.replace({"ff"});
    std::atomic<bool> stop{false};
    std::atomic<bool> lost{false};
    std::atomic<long> lookups{0};
    // Catch2 assertions are not thread-safe: the reader only records.
    std::thread reader([&] {
        while (!stop.load()) {
            // "ff" is in every snapshot the writer publishes.
            if (!list.is_revoked("ff")) {
                lost.store(true);
            }
            lookups.fetch_add(1);
        }
    });
    // On a loaded machine the reader may not run before the writer is done:
    // wait for its first lookup so the two really overlap.
    while (lookups.load() == 0) {
        std::this_thread::yield();
    }
    for (int i = 0; i < 2000; ++i) {
        list.replace({"ff", std::to_string(i)});
        list.add("ab" + std::to_string(i));
    }
    stop.store(true);
    reader.join();
    CHECK_FALSE(lost.load());
    CHECK(list.is_revoked("ff"));
    CHECK(list.is_revoked("ab1999"));
    CHECK(lookups.load() > 0);
}
