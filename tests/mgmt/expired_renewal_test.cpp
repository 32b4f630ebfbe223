// renew_expired without sockets: the server's machine with the store and the
// CA (mgmt/expired_renewal.hpp through answer_enroll_bytes), the TLS exporter
// value given as bytes.

#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "certs/possession.hpp"
#include "common/util/clock.hpp"
#include "common/util/rfc3339.hpp"
#include "common/wire/frame.hpp"
#include "mgmt/enroll_request.hpp"
#include "tests/support/ca_fixture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>

using namespace agentlb;
using namespace agentlb::mgmt;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

const std::string kChannel(32, 'A');
const std::string kOtherChannel(32, 'B');

struct Bench {
    CaFixture fixture;
    ClusterSnapshot snapshot = empty_snapshot();

    // A host enrolled as `name`, then recorded with a certificate that
    // expired `ago`: what an agent switched off too long holds.
    AgentIdentity expired_host(const std::string& name,
                               std::chrono::seconds ago,
                               const std::string& zone = "default") {
        const auto enrolled = fixture.enroll(name, zone);
        const auto now = std::chrono::system_clock::now();
        MintOptions dates;
        dates.not_before = now - std::chrono::hours(24 * 30);
        dates.not_after = now - ago;
        auto identity = fixture.mint(name, dates);
        identity.host_id = enrolled.host_id;
        identity.zone = enrolled.zone;
        auto cert = certs::parse_certificate_pem(identity.cert_pem);
        REQUIRE(cert.ok());
        fixture.store().record_certificate(
            enrolled.host_id,
            store::IssuedCertificate{identity.cert_pem, identity.serial, certs::not_after_of(cert->get())});
        return identity;
    }

    // The request the agent makes on connection `channel`.
    static wire::RenewExpired request_of(const AgentIdentity& identity, const std::string& channel) {
        const std::string csr = make_key_and_csr(identity.name).csr_pem;
        auto key = certs::parse_private_key_pem(identity.key_pem);
        REQUIRE(key.ok());
        auto signature = certs::sign_channel_proof(key->get(), channel, csr);
        REQUIRE(signature.ok());
        return wire::RenewExpired{identity.cert_pem, csr, *signature};
    }

    EnrollExchange answer(const wire::RenewExpired& request, const std::string& channel = kChannel) {
        const auto bytes = wire::encode_frame(wire::encode_message(request)).value();
        return answer_enroll_bytes(bytes, fixture.store(), fixture.ca(), snapshot, util::unix_now(), channel);
    }
};

const wire::Error& error_of(const EnrollExchange& reply) {
    REQUIRE(reply.answer.has_value());
    const auto* error = std::get_if<wire::Error>(&*reply.answer);
    REQUIRE(error != nullptr);
    return *error;
}

const store::CertificateRecord* record_of(Bench& bench, const std::string& host, const std::string& serial) {
    static std::vector<store::CertificateRecord> records;
    records = bench.fixture.store().certificates_of(host);
    const auto it = std::find_if(records.begin(), records.end(), [&](const store::CertificateRecord& r) {
        return r.serial == serial;
    });
    return it == records.end() ? nullptr : &*it;
}

}  // namespace

TEST_CASE("renew_expired: within the grace the host gets a new certificate, same id, the old one revoked") {
    Bench bench;
    bench.fixture.set_config("agentlb.ca.expired.cert.grace.period", "7d");
    const auto expired = bench.expired_host("kvm1", 2h);
    const auto reply = bench.answer(Bench::request_of(expired, kChannel));
    REQUIRE(reply.answer.has_value());
    const auto* enrolled = std::get_if<wire::EnrollResponse>(&*reply.answer);
    INFO((reply.close ? reply.close->detail : ""));
    REQUIRE(enrolled != nullptr);
    CHECK(protocol::enroll_result_label(*reply.close) == "ok");
    CHECK(enrolled->host_id == expired.host_id);
    CHECK(enrolled->name == "kvm1");
    CHECK(enrolled->ca == bench.fixture.ca_pem());
    auto cert = certs::parse_certificate_pem(enrolled->certificate);
    REQUIRE(cert.ok());
    const std::string serial = certs::serial_of(cert->get());
    CHECK(serial != expired.serial);
    CHECK(certs::common_name_of(cert->get()) == "kvm1");
    // The validity set for agents (default 365 days).
    CHECK(certs::not_after_of(cert->get()) > util::unix_now() + 364 * 86400);
    CHECK_THAT(reply.close->detail, Catch::Contains("expired certificate " + expired.serial + " renewed"));

    const auto* fresh = record_of(bench, "kvm1", serial);
    REQUIRE(fresh != nullptr);
    CHECK(fresh->host_id == expired.host_id);
    CHECK_FALSE(fresh->revoked);
    CHECK(bench.fixture.store().is_revoked(expired.serial));

    // The same proof again (a replay, or the agent asking twice): the old certificate is spent.
    const auto again = bench.answer(Bench::request_of(expired, kChannel));
    CHECK(error_of(again).code == "revoked");
}

TEST_CASE("renew_expired: the new certificate has the validity set for the host's agents") {
    Bench bench;
    bench.fixture.set_config("agentlb.ca.expired.cert.grace.period", "7d");
    bench.fixture.set_config("ca.framework.cert.validity.period", "30d");
    const auto expired = bench.expired_host("kvm1", 2h);
    const auto reply = bench.answer(Bench::request_of(expired, kChannel));
    const auto* enrolled = std::get_if<wire::EnrollResponse>(&*reply.answer);
    REQUIRE(enrolled != nullptr);
    auto cert = certs::parse_certificate_pem(enrolled->certificate);
    REQUIRE(cert.ok());
    const auto not_after = certs::not_after_of(cert->get());
    CHECK(not_after > util::unix_now() + 30 * 86400 - 60);
    CHECK(not_after <= util::unix_now() + 30 * 86400);
}

TEST_CASE("renew_expired: beyond the grace it is refused with the way out, and nothing changes") {
    Bench bench;
    bench.fixture.set_config("agentlb.ca.expired.cert.grace.period", "1h");
    const auto expired = bench.expired_host("kvm1", 3h);
    auto cert = certs::parse_certificate_pem(expired.cert_pem);
    REQUIRE(cert.ok());
    const auto generation = bench.fixture.store().generation();
    const auto reply = bench.answer(Bench::request_of(expired, kChannel));
    CHECK(error_of(reply).code == "expired_beyond_grace");
    CHECK(error_of(reply).message == "certificate expired on " +
                                         util::format_rfc3339(certs::not_after_of(cert->get())) +
                                         ", more than the grace period (1h) ago: re-enrol with a token "
                                         "(agentlbctl cert reissue kvm1)");
    CHECK(protocol::counts_against_peer(*reply.close));
    CHECK(bench.fixture.store().generation() == generation);
    CHECK_FALSE(bench.fixture.store().is_revoked(expired.serial));
}

TEST_CASE("renew_expired: grace 0 (the default) renews nothing, and says which key turns it on") {
    Bench bench;
    const auto expired = bench.expired_host("kvm1", 1min);
    const auto reply = bench.answer(Bench::request_of(expired, kChannel));
    CHECK(error_of(reply).code == "expired_beyond_grace");
    CHECK(error_of(reply).message ==
          "expired certificates are not renewed (agentlb.ca.expired.cert.grace.period is 0)");
    bench.fixture.set_config("agentlb.ca.expired.cert.grace.period", "0");
    CHECK(error_of(bench.answer(Bench::request_of(expired, kChannel))).message ==
          "expired certificates are not renewed (agentlb.ca.expired.cert.grace.period is 0)");
}

TEST_CASE("renew_expired: the grace is the host's zone's when the zone sets its own") {
    Bench bench;
    const auto expired = bench.expired_host("kvm1", 2h);
    REQUIRE(bench.fixture.store()
                .set_scoped_config(
                    lb::ConfigScope{expired.zone, ""}, "agentlb.ca.expired.cert.grace.period", "1d")
                .ok());
    const auto reply = bench.answer(Bench::request_of(expired, kChannel));
    INFO((reply.close ? reply.close->detail : ""));
    CHECK(std::holds_alternative<wire::EnrollResponse>(*reply.answer));
    // Another zone keeps the global 0.
    const auto other = bench.expired_host("kvm2", 2h, "zone-b");
    CHECK(error_of(bench.answer(Bench::request_of(other, kChannel))).code == "expired_beyond_grace");
}

TEST_CASE("renew_expired: a revoked certificate is refused") {
    Bench bench;
    bench.fixture.set_config("agentlb.ca.expired.cert.grace.period", "7d");
    const auto expired = bench.expired_host("kvm1", 2h);
    REQUIRE(bench.fixture.store().revoke_certificate(expired.serial, util::unix_now()).ok());
    const auto reply = bench.answer(Bench::request_of(expired, kChannel));
    CHECK(error_of(reply).code == "revoked");
    CHECK_THAT(error_of(reply).message,
               Catch::StartsWith("certificate " + expired.serial + " of kvm1 is revoked"));
}

TEST_CASE("renew_expired: a certificate the host has replaced since is refused") {
    Bench bench;
    bench.fixture.set_config("agentlb.ca.expired.cert.grace.period", "7d");
    const auto expired = bench.expired_host("kvm1", 2h);
    // Renewed over the agent port before it expired: the store recorded a newer one.
    const auto newer = bench.fixture.mint("kvm1");
    auto newer_cert = certs::parse_certificate_pem(newer.cert_pem);
    REQUIRE(newer_cert.ok());
    bench.fixture.store().record_certificate(
        expired.host_id,
        store::IssuedCertificate{newer.cert_pem, newer.serial, certs::not_after_of(newer_cert->get())});
    const auto reply = bench.answer(Bench::request_of(expired, kChannel));
    CHECK(error_of(reply).code == "enrollment_refused");
    CHECK(error_of(reply).message == "certificate " + expired.serial +
                                         " of kvm1 was replaced by a newer one: only the host's newest "
                                         "certificate can be renewed; re-enrol with a token (agentlbctl cert "
                                         "reissue kvm1)");
}

TEST_CASE("renew_expired: a signature made over another connection's exporter value is refused") {
    Bench bench;
    bench.fixture.set_config("agentlb.ca.expired.cert.grace.period", "7d");
    const auto expired = bench.expired_host("kvm1", 2h);
    // Captured on one connection, replayed on another.
    const auto request = Bench::request_of(expired, kOtherChannel);
    const auto reply = bench.answer(request, kChannel);
    CHECK(error_of(reply).code == "bad_request");
    CHECK_THAT(error_of(reply).message, Catch::StartsWith("signature: the signature does not verify"));
    CHECK_FALSE(reply.store_asked);
    // Signed by a key that is not the certificate's.
    auto forged = Bench::request_of(expired, kChannel);
    const auto stranger = bench.fixture.mint("kvm1");
    auto stranger_key = certs::parse_private_key_pem(stranger.key_pem);
    REQUIRE(stranger_key.ok());
    forged.signature = certs::sign_channel_proof(stranger_key->get(), kChannel, forged.csr).value();
    CHECK(error_of(bench.answer(forged, kChannel)).code == "bad_request");
    // Another CSR than the one signed.
    auto swapped = Bench::request_of(expired, kChannel);
    swapped.csr = make_key_and_csr("kvm1").csr_pem;
    CHECK(error_of(bench.answer(swapped, kChannel)).code == "bad_request");
    // Not base64.
    auto garbled = Bench::request_of(expired, kChannel);
    garbled.signature = "not base64!";
    CHECK(error_of(bench.answer(garbled, kChannel)).code == "bad_request");
    // The genuine request on its own connection is fine.
    const auto genuine = bench.answer(Bench::request_of(expired, kChannel), kChannel);
    CHECK(std::holds_alternative<wire::EnrollResponse>(*genuine.answer));
}

TEST_CASE("renew_expired: certificates that are not an expired one of this cluster's hosts are refused") {
    Bench bench;
    bench.fixture.set_config("agentlb.ca.expired.cert.grace.period", "7d");
    const auto now = std::chrono::system_clock::now();
    MintOptions expired_dates;
    expired_dates.not_before = now - std::chrono::hours(48);
    expired_dates.not_after = now - 1h;

    SECTION("still valid: renewed over the agent port instead") {
        const auto valid = bench.fixture.enroll("kvm1");
        const auto reply = bench.answer(Bench::request_of(valid, kChannel));
        CHECK(error_of(reply).code == "bad_request");
        CHECK_THAT(error_of(reply).message, Catch::StartsWith("the certificate is still valid"));
        CHECK_FALSE(reply.store_asked);
    }
    SECTION("from another CA") {
        ForeignCa foreign;
        const auto reply = bench.answer(Bench::request_of(foreign.mint("kvm1"), kChannel));
        CHECK(error_of(reply).code == "bad_certificate");
        CHECK_FALSE(reply.store_asked);
    }
    SECTION("never recorded for the host") {
        bench.fixture.enroll("kvm1");
        const auto minted = bench.fixture.mint("kvm1", expired_dates);
        const auto reply = bench.answer(Bench::request_of(minted, kChannel));
        CHECK(error_of(reply).code == "enrollment_refused");
        CHECK_THAT(error_of(reply).message, Catch::Contains("was not issued to host kvm1"));
    }
    SECTION("its host is not registered") {
        const auto minted = bench.fixture.mint("ghost", expired_dates);
        const auto reply = bench.answer(Bench::request_of(minted, kChannel));
        CHECK(error_of(reply).code == "enrollment_refused");
        CHECK_THAT(error_of(reply).message, Catch::StartsWith("no host named ghost is registered"));
    }
    SECTION("no exporter value on the connection") {
        const auto expired = bench.expired_host("kvm1", 1h);
        const auto reply = bench.answer(Bench::request_of(expired, kChannel), "");
        CHECK(error_of(reply).code == "bad_request");
    }
    CHECK(bench.fixture.store().list_hosts().size() <= 1);
}
