// The chain of an imported CA (schema v7-import): both backends.

#include "common/store/migrations.hpp"
#include "store_test_support.hpp"

#include <catch2/catch.hpp>

using namespace agentlb::store;
using namespace agentlb::store::test;

namespace {

constexpr const char* kChain = "INTERMEDIATE PEM\nROOT PEM\n";

}  // namespace

TEST_CASE("put_ca_with_chain keeps the imported CA with its chain, and a CA put without one has none") {
    StoreFixture fixture;
    CHECK(fixture.store->ca_chain().empty());

    fixture.store->put_ca_with_chain("ISSUING CA PEM", "sha256:aa", kChain);
    const auto ca = fixture.store->ca_certificate();
    REQUIRE(ca);
    CHECK(ca->first == "ISSUING CA PEM");
    CHECK(ca->second == "sha256:aa");
    CHECK(fixture.store->ca_chain() == kChain);

    // The chain belongs to that CA: replacing the CA drops it.
    fixture.store->put_ca_certificate("OTHER CA PEM", "sha256:bb");
    CHECK(fixture.store->ca_chain().empty());
    fixture.store->put_ca_with_chain("ISSUING CA PEM", "sha256:aa", "");
    CHECK(fixture.store->ca_chain().empty());
}

TEST_CASE("export_contents and import_contents copy the CA chain") {
    StoreFixture source;
    source.store->put_ca_with_chain("ISSUING CA PEM", "sha256:aa", kChain);
    const StoreContents contents = source.store->export_contents();
    CHECK(contents.ca_chain == kChain);

    StoreFixture target;
    REQUIRE(target.store->import_contents(contents));
    CHECK(target.store->ca_certificate() == source.store->ca_certificate());
    CHECK(target.store->ca_chain() == kChain);
}

TEST_CASE("a store from before the CA chain keeps its CA, which has no chain") {
    TestLocation location;
    const std::string& db = location.db();
    open_store(db, OpenMode::create)->put_ca_certificate("CA PEM", "sha256:cc");
    const int before = 7;  // what version 8 added is taken away, and what came after it
    raw_exec(db,
             "DROP TABLE applications; ALTER TABLE servers DROP COLUMN peer_address; "
             "DROP TABLE ticket_keys; ALTER TABLE ca DROP COLUMN chain_pem; " +
                 (backend_of(db) == Backend::postgresql
                      ? "UPDATE agentlb_schema SET version = " + std::to_string(before)
                      : "PRAGMA user_version = " + std::to_string(before)));
    REQUIRE(read_schema_versions(db).stored == before);

    auto store = open_store(db, OpenMode::existing);
    CHECK(read_schema_versions(db).stored == kSchemaVersion);
    CHECK(store->ca_certificate() == std::make_pair(std::string("CA PEM"), std::string("sha256:cc")));
    CHECK(store->ca_chain().empty());
    store->put_ca_with_chain("CA PEM", "sha256:cc", kChain);
    CHECK(store->ca_chain() == kChain);
}
