// Certificates as objects (schema v6): what is recorded for agents and
// servers, listing, revoking one certificate, counting, and join tokens
// bound to a host's id (agentlbctl cert reissue). Both backends.

#include "common/store/store.hpp"
#include "tests/common/store/store_test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace agentlb::store;
using namespace agentlb::store::test;

namespace {

constexpr const char* kCaFingerprint = "sha256:00aa";

std::vector<std::string> serials(const std::vector<CertificateRecord>& records) {
    std::vector<std::string> out;
    for (const auto& record : records) {
        out.push_back(record.serial);
    }
    return out;
}

// A token bound to `host` as agentlbctl cert reissue makes it.
TokenSpec reissue_token(const std::string& hash, const HostRecord& host) {
    TokenSpec spec{hash, std::nullopt, host.name, 1000, 20};
    spec.host_id = host.id;
    return spec;
}

}  // namespace

TEST_CASE_METHOD(StoreFixture,
                 "an enrolment records an agent certificate with its subject, issuer and time") {
    store->put_ca_certificate("CA PEM", kCaFingerprint);
    const HostRecord h1 = enroll("h1");
    IssuedCertificate renewed{"pem", "renewed", 5000};
    renewed.issuer = "sha256:other";
    renewed.issued_at = 77;
    store->record_certificate(h1.id, renewed);

    const auto records = store->certificates_of("h1");
    REQUIRE(records.size() == 2);
    CHECK(records[0].serial == "h1-1");
    CHECK(records[0].kind == "agent");
    CHECK(records[0].subject == "h1");
    CHECK(records[0].issuer == kCaFingerprint);  // not given: the store's CA
    CHECK(records[0].issued_at == 10);           // the redemption's time
    CHECK(records[0].superseded);
    CHECK_FALSE(records[0].revoked_at);
    CHECK(records[1].issuer == "sha256:other");
    CHECK(records[1].issued_at == 77);
    CHECK_FALSE(records[1].superseded);
}

TEST_CASE_METHOD(StoreFixture, "a server certificate is recorded once, as kind server, without a bump") {
    store->put_ca_certificate("CA PEM", kCaFingerprint);
    enroll("ms1");  // a host of the same name: its certificates stay apart
    const std::int64_t g0 = store->generation();
    store->record_server_certificate("ms1", IssuedCertificate{"pem", "srv-1", 9000});
    store->record_server_certificate("ms1", IssuedCertificate{"pem", "srv-1", 9000});  // a restart reusing it
    CHECK(store->generation() == g0);

    const auto records = store->list_certificates(CertificateFilter{std::string("ms1")});
    REQUIRE(serials(records) == std::vector<std::string>{"ms1-1", "srv-1"});
    CHECK(records[1].kind == "server");
    CHECK(records[1].host_id == 0);
    CHECK(records[1].subject == "ms1");
    CHECK(records[1].issuer == kCaFingerprint);
    CHECK(records[1].issued_at > 0);
    CHECK(records[1].not_after == 9000);
    CHECK(serials(store->certificates_of("ms1")) == std::vector<std::string>{"ms1-1"});

    // Recording it again after a revocation does not make it usable again.
    REQUIRE(store->revoke_certificate("srv-1", 50));
    store->record_server_certificate("ms1", IssuedCertificate{"pem", "srv-1", 9000});
    CHECK(store->is_revoked("srv-1"));
    // A new one supersedes it; removing the host leaves the server's certificates alone.
    store->record_server_certificate("ms1", IssuedCertificate{"pem", "srv-2", 9500});
    REQUIRE(store->remove_host("ms1"));
    CHECK_FALSE(store->is_revoked("srv-2"));
    const auto after = store->list_certificates(CertificateFilter{std::string("ms1")});
    REQUIRE(after.size() == 3);
    CHECK(after[1].superseded);
    CHECK_FALSE(after[2].superseded);
}

TEST_CASE_METHOD(StoreFixture, "list_certificates filters by host, expiry, revocation, issuer and use") {
    const HostRecord h1 = enroll("h1");  // h1-1, not_after 1001
    enroll("h2");                        // h2-2, not_after 1002
    IssuedCertificate other{"pem", "h1-other", 4000};
    other.issuer = "sha256:bb";
    store->record_certificate(h1.id, other);
    store->record_server_certificate("ms1", IssuedCertificate{"pem", "srv", 3000});
    REQUIRE(store->revoke_certificate("h2-2", 40));

    CHECK(serials(store->list_certificates({})) ==
          std::vector<std::string>{"h1-1", "h2-2", "h1-other", "srv"});
    CHECK(serials(store->list_certificates(CertificateFilter{std::string("h1")})) ==
          std::vector<std::string>{"h1-1", "h1-other"});
    CHECK(store->list_certificates(CertificateFilter{std::string("nobody")}).empty());

    CertificateFilter expiring;
    expiring.expiring_before = 3000;
    CHECK(serials(store->list_certificates(expiring)) == std::vector<std::string>{"h1-1", "h2-2"});
    expiring.include_revoked = false;
    CHECK(serials(store->list_certificates(expiring)) == std::vector<std::string>{"h1-1"});
    expiring.include_superseded = false;
    CHECK(store->list_certificates(expiring).empty());

    CertificateFilter by_issuer;
    by_issuer.issuer = "sha256:bb";
    CHECK(serials(store->list_certificates(by_issuer)) == std::vector<std::string>{"h1-other"});

    const auto revoked = store->list_certificates(CertificateFilter{std::string("h2")});
    REQUIRE(revoked.size() == 1);
    CHECK(revoked[0].revoked);
    CHECK(revoked[0].revoked_at == std::optional<std::int64_t>(40));
}

TEST_CASE_METHOD(StoreFixture, "revoke_certificate revokes one serial, keeps the host and bumps once") {
    const HostRecord h1 = enroll("h1");
    store->record_certificate(h1.id, IssuedCertificate{"pem", "h1-renewed", 3000});
    const std::int64_t g0 = store->generation();

    const auto unknown = store->revoke_certificate("no-such-serial", 30);
    REQUIRE_FALSE(unknown);
    CHECK_THAT(unknown.error(), Catch::Contains("no certificate with serial \"no-such-serial\""));
    CHECK(store->generation() == g0);

    const auto revoked = store->revoke_certificate("h1-renewed", 30);
    REQUIRE(revoked);
    CHECK(revoked->revoked);
    CHECK(revoked->revoked_at == std::optional<std::int64_t>(30));
    CHECK(revoked->host_id == h1.id);
    CHECK(revoked->subject == "h1");
    CHECK(store->is_revoked("h1-renewed"));
    CHECK_FALSE(store->is_revoked("h1-1"));
    CHECK(store->revoked_serials() == std::vector<std::string>{"h1-renewed"});
    CHECK(store->find_host("h1")->id == h1.id);
    CHECK(store->generation() == g0 + 1);

    // Already revoked: fine, nothing written.
    const auto again = store->revoke_certificate("h1-renewed", 99);
    REQUIRE(again);
    CHECK(again->revoked);
    CHECK(again->revoked_at == std::optional<std::int64_t>(30));
    CHECK(store->generation() == g0 + 1);
}

TEST_CASE_METHOD(StoreFixture, "count_certificates counts live certificates in use, by kind, before a time") {
    const HostRecord h1 = enroll("h1");  // h1-1 until 1001: superseded below
    enroll("h2");                        // h2-2 until 1002
    enroll("h3");                        // h3-3 until 1003: revoked below
    store->record_certificate(h1.id, IssuedCertificate{"pem", "h1-new", 1500});
    REQUIRE(store->revoke_certificate("h3-3", 20));
    store->record_server_certificate("ms1", IssuedCertificate{"pem", "srv-old", 1200});
    store->record_server_certificate("ms1", IssuedCertificate{"pem", "srv-new", 1400});
    store->record_server_certificate("ms2", IssuedCertificate{"pem", "srv-ms2", 900});

    CHECK(store->count_certificates("agent", 2000, 0) == 2);     // h1-new, h2-2
    CHECK(store->count_certificates("agent", 1100, 0) == 1);     // h2-2
    CHECK(store->count_certificates("agent", 2000, 1100) == 1);  // h2-2 expired at 1100
    CHECK(store->count_certificates("agent", 1002, 0) == 0);     // before, not at
    CHECK(store->count_certificates("server", 2000, 0) == 2);    // srv-new, srv-ms2
    CHECK(store->count_certificates("server", 1300, 1000) == 0);
    CHECK(store->count_certificates("nothing", 2000, 0) == 0);
}

TEST_CASE_METHOD(StoreFixture, "a token bound to a host's id re-enrols that host only") {
    const HostRecord h1 = enroll("h1");
    enroll("h2");

    SECTION("the same host keeps its id, its old certificates revoked") {
        store->create_token(reissue_token("reissue", h1));
        const auto result = store->redeem_token({"reissue", "H1", std::nullopt, 30}, issuer.fn());
        REQUIRE(result);
        CHECK(result->re_enrolled);
        CHECK(result->host.id == h1.id);
        CHECK(store->is_revoked("h1-1"));
        CHECK_FALSE(store->is_revoked(result->certificate.serial));
    }
    SECTION("refused once the host was removed") {
        store->create_token(reissue_token("reissue", h1));
        REQUIRE(store->remove_host("h1"));
        const std::int64_t g0 = store->generation();
        const auto result = store->redeem_token({"reissue", "h1", std::nullopt, 30}, issuer.fn());
        REQUIRE_FALSE(result);
        CHECK_THAT(result.error(),
                   Catch::Contains("created by `agentlbctl cert reissue` for host \"h1\" with id " +
                                   std::to_string(h1.id)));
        CHECK_THAT(result.error(), Catch::Contains("no host of that name is registered any more"));
        CHECK_FALSE(store->find_host("h1"));
        CHECK(store->generation() == g0);
    }
    SECTION("refused for a host removed and enrolled again under the same name") {
        store->create_token(reissue_token("reissue", h1));
        REQUIRE(store->remove_host("h1"));
        const HostRecord again = enroll("h1");
        const auto result = store->redeem_token({"reissue", "h1", std::nullopt, 30}, issuer.fn());
        REQUIRE_FALSE(result);
        CHECK_THAT(result.error(),
                   Catch::Contains("the host of that name now has id " + std::to_string(again.id)));
        CHECK_FALSE(store->is_revoked(store->certificates_of("h1").back().serial));
        // The token was not used up: the refusal changed nothing.
        const auto contents = store->export_contents();
        const auto token = std::find_if(contents.tokens.begin(), contents.tokens.end(), [](const auto& t) {
            return t.spec.hash == "reissue";
        });
        REQUIRE(token != contents.tokens.end());
        CHECK_FALSE(token->used_at);
        CHECK(token->spec.host_id == std::optional<std::int64_t>(h1.id));
    }
}
