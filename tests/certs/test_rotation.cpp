#include "certs/fingerprint.hpp"
#include "certs/rotation.hpp"
#include "certs/verify.hpp"
#include "common/util/clock.hpp"
#include "tests/certs/certs_fixture.hpp"

#include <catch2/catch.hpp>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <initializer_list>

using namespace agentlb::certs;
using agentlb::fail;
using agentlb::Status;
using agentlb::success;
using agentlb::certs::test::agent_options;
using agentlb::certs::test::ca_key;
using agentlb::certs::test::server_options;
using agentlb::certs::test::TestCa;
using agentlb::util::unix_now;

namespace {

SuccessorCa successor_of(const TestCa& old) {
    auto key = ca_key(old);
    auto fresh = generate_p256_key();
    REQUIRE(fresh.ok());
    auto successor = make_successor_ca(old.ca.certificate(), key.get(), std::move(fresh).value());
    INFO((successor ? "" : successor.error()));
    REQUIRE(successor.ok());
    return std::move(successor).value();
}

// A leaf issued by the successor's key, through a CertificateAuthority loaded
// from a folder holding the successor, like a server after `ca rotate`.
X509Ptr issue_from_successor(const SuccessorCa& successor, const IssueOptions& options) {
    agentlb::test::TempDir dir;
    REQUIRE(save_private_key_file(dir.path() / "ca.key", successor.key.get()).ok());
    REQUIRE(save_certificate_file(dir.path() / "ca.crt", successor.certificate.get()).ok());
    auto ca = CertificateAuthority::load(dir.path());
    REQUIRE(ca.ok());
    return test::issue_parsed(*ca, options);
}

// What a TLS peer does with the certificates the other side sent: `leaf`
// first, `chain` as untrusted intermediates, anchored in `anchors` only
// (X509_STRICT, PARTIAL_CHAIN when an anchor is not self-signed, as
// make_ca_store does).
Status verify_sent_chain(X509* leaf,
                         std::initializer_list<X509*> chain,
                         std::initializer_list<X509*> anchors,
                         int purpose) {
    X509StorePtr store(X509_STORE_new());
    unsigned long flags = X509_V_FLAG_X509_STRICT;
    for (X509* anchor : anchors) {
        REQUIRE(X509_STORE_add_cert(store.get(), anchor) == 1);
        if (X509_self_signed(anchor, 0) != 1) {
            flags |= X509_V_FLAG_PARTIAL_CHAIN;
        }
    }
    REQUIRE(X509_STORE_set_flags(store.get(), flags) == 1);
    STACK_OF(X509)* untrusted = sk_X509_new_null();
    for (X509* certificate : chain) {
        sk_X509_push(untrusted, certificate);
    }
    X509StoreCtxPtr context(X509_STORE_CTX_new());
    REQUIRE(X509_STORE_CTX_init(context.get(), store.get(), leaf, untrusted) == 1);
    REQUIRE(X509_STORE_CTX_set_purpose(context.get(), purpose) == 1);
    const bool ok = X509_verify_cert(context.get()) == 1;
    const int error = X509_STORE_CTX_get_error(context.get());
    sk_X509_free(untrusted);
    if (!ok) {
        return fail(X509_verify_cert_error_string(error));
    }
    return success();
}

}  // namespace

TEST_CASE("make_successor_ca: a self-signed successor with the same name and a cross certificate") {
    TestCa old;
    SuccessorCa successor = successor_of(old);
    const std::int64_t now = unix_now();

    CHECK(X509_NAME_cmp(X509_get_subject_name(successor.certificate.get()),
                        X509_get_subject_name(old.ca.certificate())) == 0);
    CHECK(X509_self_signed(successor.certificate.get(), 1) == 1);
    // Self-issued (same names) but not self-signed: its key identifier names the old key.
    CHECK(X509_NAME_cmp(X509_get_subject_name(successor.cross.get()),
                        X509_get_issuer_name(successor.cross.get())) == 0);
    CHECK(X509_self_signed(successor.cross.get(), 0) == 0);
    CHECK(same_subject_and_key(successor.certificate.get(), successor.cross.get()));
    CHECK_FALSE(same_subject_and_key(successor.certificate.get(), old.ca.certificate()));
    CHECK(key_matches_certificate(successor.key.get(), successor.cross.get()));
    CHECK(fingerprint_of(successor.certificate.get()) != fingerprint_of(successor.cross.get()));

    auto vouched = check_vouched_ca(old.ca.certificate(), successor.cross.get(), now);
    INFO((vouched ? "" : vouched.error()));
    CHECK(vouched.ok());
    // The self-signed one is signed by the new key only: the old CA cannot vouch for it.
    CHECK_FALSE(check_vouched_ca(old.ca.certificate(), successor.certificate.get(), now).ok());
}

TEST_CASE(
    "a peer trusting only the old root accepts a leaf of the successor sent with the cross certificate") {
    TestCa old;
    SuccessorCa successor = successor_of(old);
    X509Ptr server_leaf = issue_from_successor(successor, server_options());
    X509Ptr agent_leaf = issue_from_successor(successor, agent_options());

    SECTION("[leaf, cross] against the old root: the old root's pathlen:0 admits the self-issued cross") {
        auto verified = verify_sent_chain(
            server_leaf.get(), {successor.cross.get()}, {old.ca.certificate()}, X509_PURPOSE_SSL_SERVER);
        INFO((verified ? "" : verified.error()));
        CHECK(verified.ok());
    }
    SECTION("the leaf alone does not reach the old root") {
        CHECK_FALSE(
            verify_sent_chain(server_leaf.get(), {}, {old.ca.certificate()}, X509_PURPOSE_SSL_SERVER).ok());
    }
    SECTION("the cross certificate alone as anchor (partial chain), by make_ca_store") {
        auto verified = verify_certificate(
            agent_leaf.get(), to_pem(successor.cross.get()), unix_now(), nullptr, CertificateKind::agent);
        INFO((verified ? "" : verified.error()));
        CHECK(verified.ok());
    }
    SECTION("the self-signed successor as anchor, with or without the cross certificate sent") {
        auto alone = verify_certificate(agent_leaf.get(), to_pem(successor.certificate.get()), unix_now());
        INFO((alone ? "" : alone.error()));
        CHECK(alone.ok());
        auto with_cross = verify_sent_chain(server_leaf.get(),
                                            {successor.cross.get()},
                                            {successor.certificate.get()},
                                            X509_PURPOSE_SSL_SERVER);
        INFO((with_cross ? "" : with_cross.error()));
        CHECK(with_cross.ok());
    }
    SECTION("a server trusting both roots (same name) accepts agents of either") {
        X509Ptr old_leaf = test::issue_parsed(old.ca, agent_options());
        for (X509* leaf : {agent_leaf.get(), old_leaf.get()}) {
            auto verified = verify_sent_chain(
                leaf, {}, {old.ca.certificate(), successor.certificate.get()}, X509_PURPOSE_SSL_CLIENT);
            INFO((verified ? "" : verified.error()));
            CHECK(verified.ok());
        }
    }
    SECTION("the old CA's leaves do not verify against the successor alone") {
        X509Ptr old_leaf = test::issue_parsed(old.ca, agent_options());
        CHECK_FALSE(verify_certificate(old_leaf.get(), to_pem(successor.certificate.get()), unix_now()).ok());
    }
}

TEST_CASE("a CA that is not the successor's predecessor does not vouch for its cross certificate") {
    TestCa old;
    TestCa unrelated;  // same name "agentlb CA", another key
    SuccessorCa successor = successor_of(old);
    auto vouched = check_vouched_ca(unrelated.ca.certificate(), successor.cross.get(), unix_now());
    REQUIRE_FALSE(vouched.ok());
    X509Ptr leaf = issue_from_successor(successor, server_options());
    CHECK_FALSE(
        verify_sent_chain(
            leaf.get(), {successor.cross.get()}, {unrelated.ca.certificate()}, X509_PURPOSE_SSL_SERVER)
            .ok());
}

TEST_CASE("make_successor_ca refuses a key that is not the CA's, and the same key again") {
    TestCa old;
    TestCa other;
    auto wrong = ca_key(other);
    auto fresh = generate_p256_key();
    REQUIRE(fresh.ok());
    auto refused = make_successor_ca(old.ca.certificate(), wrong.get(), std::move(fresh).value());
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error(), Catch::Contains("not the key of the current CA certificate"));

    auto key = ca_key(old);
    auto same = load_private_key_file(old.dir.path() / "ca" / "ca.key");
    REQUIRE(same.ok());
    auto again = make_successor_ca(old.ca.certificate(), key.get(), std::move(same).value());
    REQUIRE_FALSE(again.ok());
    CHECK_THAT(again.error(), Catch::Contains("is the current one"));
}

TEST_CASE("to_pem_bundle writes what parse_certificates_pem reads back") {
    TestCa first;
    TestCa second;
    const std::string bundle = first.ca.certificate_pem() + second.ca.certificate_pem();
    auto parsed = parse_certificates_pem(bundle);
    REQUIRE(parsed.ok());
    REQUIRE(parsed->size() == 2);
    CHECK(to_pem_bundle(*parsed) == bundle);
}
