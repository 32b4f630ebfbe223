// The applications each server holds on its app socket (schema v10, issue 19).

#include "common/store/store.hpp"
#include "tests/common/store/store_test_support.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace agentlb::store;
using namespace agentlb::store::test;

namespace {

using Applications = std::vector<ApplicationRecord>;

// Microseconds since 1970, as a client names its epoch.
constexpr std::int64_t kEpoch = 1'700'000'000'000'000;

}  // namespace

TEST_CASE_METHOD(StoreFixture, "applications_named lists an application's instances by epoch, then server") {
    CHECK(store->applications_named("cloudstack").empty());
    const std::int64_t g0 = store->generation();

    store->add_application(ApplicationRecord{"ms2", "cloudstack", kEpoch + 5, 100});
    store->add_application(ApplicationRecord{"ms1", "cloudstack", kEpoch + 9, 101});
    store->add_application(ApplicationRecord{"ms1", "cloudstack", kEpoch + 5, 102});
    store->add_application(ApplicationRecord{"ms1", "other", kEpoch, 103});
    // Two instances on one server, with different epochs.
    store->add_application(ApplicationRecord{"ms2", "cloudstack", kEpoch + 1, 104});

    CHECK(store->applications_named("cloudstack") == Applications{
                                                         {"ms2", "cloudstack", kEpoch + 1, 104},
                                                         {"ms1", "cloudstack", kEpoch + 5, 102},
                                                         {"ms2", "cloudstack", kEpoch + 5, 100},
                                                         {"ms1", "cloudstack", kEpoch + 9, 101},
                                                     });
    CHECK(store->applications_named("other") == Applications{{"ms1", "other", kEpoch, 103}});
    // Names are compared exactly.
    CHECK(store->applications_named("CloudStack").empty());
    CHECK(store->applications_named("").empty());
    // Liveness, like heartbeats: nobody reloads for it.
    CHECK(store->generation() == g0);
}

TEST_CASE_METHOD(StoreFixture, "servers with one epoch are in byte order, on both backends") {
    for (const char* server : {"b", "a", "B", "ms-1", "ms_1"}) {
        store->add_application(ApplicationRecord{server, "app", 1, 0});
    }
    std::vector<std::string> servers;
    for (const auto& application : store->applications_named("app")) {
        servers.push_back(application.server);
    }
    CHECK(servers == std::vector<std::string>{"B", "a", "b", "ms-1", "ms_1"});
}

TEST_CASE_METHOD(StoreFixture, "add_application keeps an existing row with the same key") {
    store->add_application(ApplicationRecord{"ms1", "cloudstack", kEpoch, 100});
    store->add_application(ApplicationRecord{"ms1", "cloudstack", kEpoch, 200});
    CHECK(store->applications_named("cloudstack") == Applications{{"ms1", "cloudstack", kEpoch, 100}});
}

TEST_CASE_METHOD(StoreFixture,
                 "remove_application removes that one instance, and an absent one is no error") {
    store->add_application(ApplicationRecord{"ms1", "cloudstack", kEpoch, 100});
    store->add_application(ApplicationRecord{"ms1", "cloudstack", kEpoch + 1, 101});
    store->add_application(ApplicationRecord{"ms2", "cloudstack", kEpoch, 102});
    store->add_application(ApplicationRecord{"ms1", "other", kEpoch, 103});
    const std::int64_t g0 = store->generation();

    store->remove_application("ms1", "cloudstack", kEpoch);
    CHECK(store->applications_named("cloudstack") == Applications{
                                                         {"ms2", "cloudstack", kEpoch, 102},
                                                         {"ms1", "cloudstack", kEpoch + 1, 101},
                                                     });
    CHECK(store->applications_named("other").size() == 1);

    store->remove_application("ms1", "cloudstack", kEpoch);  // already gone
    store->remove_application("ms9", "cloudstack", kEpoch + 1);
    store->remove_application("ms1", "missing", kEpoch);
    CHECK(store->applications_named("cloudstack").size() == 2);
    CHECK(store->generation() == g0);

    // Removed, then connected again with the same epoch: recorded again.
    store->add_application(ApplicationRecord{"ms1", "cloudstack", kEpoch, 300});
    CHECK(store->applications_named("cloudstack").front() ==
          ApplicationRecord{"ms1", "cloudstack", kEpoch, 300});
}

TEST_CASE_METHOD(StoreFixture, "clear_applications removes every row of one server and only those") {
    store->add_application(ApplicationRecord{"ms1", "cloudstack", kEpoch, 100});
    store->add_application(ApplicationRecord{"ms1", "other", kEpoch, 101});
    store->add_application(ApplicationRecord{"ms2", "cloudstack", kEpoch + 1, 102});
    const std::int64_t g0 = store->generation();

    store->clear_applications("ms1");
    CHECK(store->applications_named("cloudstack") == Applications{{"ms2", "cloudstack", kEpoch + 1, 102}});
    CHECK(store->applications_named("other").empty());
    store->clear_applications("ms1");
    store->clear_applications("nobody");
    CHECK(store->applications_named("cloudstack").size() == 1);
    CHECK(store->generation() == g0);
}

TEST_CASE_METHOD(StoreFixture, "applications are independent of the servers' rows") {
    // A server records its applications whether or not its row exists yet,
    // and its rows outlive being marked down until it clears them.
    store->add_application(ApplicationRecord{"ms1", "cloudstack", kEpoch, 100});
    store->register_server("ms1", "10.0.0.1:8250", 100);
    REQUIRE(store->mark_server_down("ms1", 100));
    CHECK(store->applications_named("cloudstack").size() == 1);
    store->register_server("ms1", "10.0.0.1:8250", 110);
    CHECK(store->applications_named("cloudstack").size() == 1);
    store->clear_applications("ms1");
    CHECK(store->applications_named("cloudstack").empty());
}
