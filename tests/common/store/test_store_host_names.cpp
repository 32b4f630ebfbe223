// Host names at enrolment: RFC 1123 characters only, unique without regard
// to case; names already stored that differ only in case keep working.

#include "common/store/store.hpp"
#include "tests/common/store/store_test_support.hpp"

#include <catch2/catch.hpp>

using namespace agentlb::store;
using namespace agentlb::store::test;

namespace {

std::optional<std::string> opt(const char* text) {
    return std::string(text);
}

// A row written behind the store's back, as an older build could have.
void insert_raw_host(const std::string& db, const std::string& name) {
    raw_exec(db,
             "INSERT INTO hosts (id, name, zone, last_seen, created_at) "
             "VALUES ((SELECT coalesce(max(id), 0) + 1 FROM hosts), '" +
                 name + "', 'default', 0, 1)");
}

}  // namespace

TEST_CASE_METHOD(StoreFixture, "a name that differs only in case from a registered host is refused") {
    const HostRecord kvm1 = enroll("kvm1");
    store->create_token(TokenSpec{"plain", std::nullopt, std::nullopt, 100, 1});
    const std::int64_t g0 = store->generation();
    const int calls0 = issuer.calls;

    auto result = store->redeem_token({"plain", "KVM1", std::nullopt, 10}, issuer.fn());
    REQUIRE_FALSE(result);
    CHECK(result.error() ==
          "host \"KVM1\" is already registered as \"kvm1\" (host names ignore case); "
          "enrolling it again needs a token created with --name kvm1");
    CHECK(store->list_hosts().size() == 1);
    CHECK(store->list_hosts()[0].name == "kvm1");
    CHECK(issuer.calls == calls0);
    CHECK(store->generation() == g0);
    // The token was not spent.
    CHECK(store->redeem_token({"plain", "kvm2", std::nullopt, 10}, issuer.fn()));
}

TEST_CASE_METHOD(StoreFixture, "a token made for a name re-enrols that host in any case and keeps its name") {
    const HostRecord kvm1 = enroll("kvm1");
    SECTION("the agent asks with other case") {
        store->create_token(TokenSpec{"again", std::nullopt, opt("kvm1"), 100, 1});
        auto result = store->redeem_token({"again", "KVM1", std::nullopt, 20}, issuer.fn());
        REQUIRE(result);
        CHECK(result->re_enrolled);
        CHECK(result->host.id == kvm1.id);
        CHECK(result->host.name == "kvm1");
    }
    SECTION("the token was made with other case") {
        store->create_token(TokenSpec{"again", std::nullopt, opt("Kvm1"), 100, 1});
        auto result = store->redeem_token({"again", "kvm1", std::nullopt, 20}, issuer.fn());
        REQUIRE(result);
        CHECK(result->host.id == kvm1.id);
        CHECK(result->host.name == "kvm1");
    }
    CHECK(store->list_hosts().size() == 1);
    CHECK(store->is_revoked("kvm1-1"));
}

TEST_CASE_METHOD(StoreFixture, "a name outside RFC 1123 is refused by the store and changes nothing") {
    store->create_token(TokenSpec{"plain", std::nullopt, std::nullopt, 100, 1});
    auto result = store->redeem_token({"plain", "a/CN=kvm1,O=*", std::nullopt, 10}, issuer.fn());
    REQUIRE_FALSE(result);
    CHECK_THAT(result.error(), Catch::Contains("'/' at position 2"));
    CHECK(store->list_hosts().empty());
    CHECK(issuer.calls == 0);
    CHECK(store->redeem_token({"plain", "kvm1", std::nullopt, 10}, issuer.fn()));
}

TEST_CASE_METHOD(StoreFixture, "hosts are found by name without regard to case, an exact match first") {
    enroll("kvm1");
    CHECK(store->find_host("KVM1")->name == "kvm1");
    CHECK(store->find_host("Kvm1")->id == 1);
    CHECK_FALSE(store->find_host("kvm").has_value());

    // Two rows that differ only in case, from before the rule: both stay usable.
    insert_raw_host(db, "KVM1");
    CHECK(store->find_host("kvm1")->id == 1);
    CHECK(store->find_host("KVM1")->id == 2);
    CHECK(store->find_host("kVm1")->id == 1);  // no exact match: the oldest
    CHECK(store->list_hosts().size() == 2);

    REQUIRE(store->remove_host("KVM1"));
    CHECK(store->find_host("kvm1")->id == 1);
    REQUIRE(store->remove_host("KVM1"));  // now the case-insensitive match
    CHECK(store->list_hosts().empty());
}

TEST_CASE_METHOD(StoreFixture, "a zone echoed in a refusal is escaped") {
    store->create_token(TokenSpec{"zoned", opt("z1"), std::nullopt, 100, 1});
    auto result = store->redeem_token({"zoned", "kvm1", std::string("z\"2\n\xcc"), 10}, issuer.fn());
    REQUIRE_FALSE(result);
    CHECK(result.error() ==
          "join token is for zone \"z1\", but the agent asked for zone \"z\\\"2\\x0a\\xcc\"");
}
