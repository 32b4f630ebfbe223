#include "store_test_support.hpp"

#include <catch2/catch.hpp>

using namespace agentlb::store;
using namespace agentlb::store::test;

TEST_CASE("export_contents and import_contents copy everything, ids, revocations and used tokens included") {
    StoreFixture source;
    REQUIRE(source.store->set_config("host", "ms1,ms2"));
    source.store->put_ca_certificate("CA PEM", "AB:CD");
    const HostRecord kept = source.enroll("kvm1", std::string("z1"));
    const HostRecord removed = source.enroll("kvm2");
    const HostRecord last = source.enroll("kvm3");
    REQUIRE(source.store->remove_host(removed.name));
    source.store->create_token(TokenSpec{"unused-hash", std::string("z2"), std::string("kvm9"), 500, 7});
    TokenSpec bound{"bound-hash", std::nullopt, kept.name, 500, 8};
    bound.host_id = kept.id;
    source.store->create_token(bound);
    IssuedCertificate server_certificate{"pem", "srv-ms1", 4000};
    server_certificate.issuer = "sha256:ee";
    server_certificate.issued_at = 15;
    source.store->record_server_certificate("ms1", server_certificate);
    source.store->register_server("ms1", "127.0.0.1:8250", 20);
    source.store->register_server("ms2", "127.0.0.2:8250", 20);
    REQUIRE(source.store->begin_maintenance("ms2", 20, 30));
    REQUIRE(source.store->request_rebalance(std::nullopt, 20));
    source.store->set_connected(kept.id, "ms1", 21);
    source.store->set_peer_address("ms1", "127.0.0.1:8260");
    source.store->add_application(ApplicationRecord{"ms1", "cloudstack", 1, 21});

    const StoreContents contents = source.store->export_contents();
    CHECK(contents.last_host_id >= last.id);
    for (const auto& host : contents.hosts) {
        CHECK_FALSE(host.connected_to);
    }

    StoreFixture target;
    REQUIRE(target.store->import_contents(contents));
    CHECK(target.store->list_config() == source.store->list_config());
    CHECK(target.store->ca_certificate() == source.store->ca_certificate());
    const auto hosts = target.store->list_hosts();
    REQUIRE(hosts.size() == 2);
    CHECK(hosts[0].id == kept.id);
    CHECK(hosts[0].zone == "z1");
    CHECK(hosts[1].id == last.id);
    CHECK(target.store->revoked_serials() == source.store->revoked_serials());
    CHECK(target.store->certificates_of("kvm2").size() == 1);
    CHECK(target.store->is_revoked(source.store->certificates_of("kvm2").at(0).serial));
    CHECK(target.store->generation() > source.store->generation());
    // Every column of every certificate, server certificates included (v6).
    const auto copied = target.store->list_certificates({});
    const auto original = source.store->list_certificates({});
    REQUIRE(copied.size() == original.size());
    for (std::size_t i = 0; i < copied.size(); ++i) {
        INFO(original[i].serial);
        CHECK(copied[i].serial == original[i].serial);
        CHECK(copied[i].kind == original[i].kind);
        CHECK(copied[i].subject == original[i].subject);
        CHECK(copied[i].issuer == original[i].issuer);
        CHECK(copied[i].issued_at == original[i].issued_at);
        CHECK(copied[i].revoked_at == original[i].revoked_at);
        CHECK(copied[i].superseded == original[i].superseded);
    }
    CHECK(copied.back().kind == "server");
    CHECK(copied.back().issuer == "sha256:ee");
    CHECK(copied.back().issued_at == 15);
    CHECK(copied.front().issuer == "AB:CD");
    CHECK(copied.front().issued_at == 10);
    // Servers register again on the new store; their maintenance requests,
    // peer link addresses, rebalance requests and the applications they hold
    // stay behind with their rows.
    CHECK(target.store->list_servers().empty());
    CHECK(target.store->last_rebalance_id() == 0);
    CHECK(target.store->applications_named("cloudstack").empty());

    // Used tokens stay used, unused ones keep working, and a new host never gets a copied id.
    const auto used = target.store->redeem_token(
        RedeemRequest{contents.tokens.at(0).spec.hash, "kvm7", {}, 10}, target.issuer.fn());
    CHECK_FALSE(used);
    const auto fresh =
        target.store->redeem_token(RedeemRequest{"unused-hash", "kvm9", {}, 10}, target.issuer.fn());
    REQUIRE(fresh);
    CHECK(fresh->host.id > last.id);
    CHECK(fresh->host.zone == "z2");
    // The token bound to kvm1's id still knows it: it re-enrols kvm1 and nothing else.
    const auto reissued =
        target.store->redeem_token(RedeemRequest{"bound-hash", "kvm1", {}, 11}, target.issuer.fn());
    REQUIRE(reissued);
    CHECK(reissued->host.id == kept.id);
}

TEST_CASE("import_contents refuses a store that is not empty and changes nothing") {
    StoreFixture source;
    source.enroll("kvm1");
    StoreFixture target;
    target.enroll("other");
    const auto generation = target.store->generation();
    const auto refused = target.store->import_contents(source.store->export_contents());
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.error(), Catch::Contains("not empty") && Catch::Contains("1 hosts"));
    CHECK(target.store->list_hosts().size() == 1);
    CHECK(target.store->generation() == generation);
}
