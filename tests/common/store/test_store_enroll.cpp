#include "common/store/store.hpp"
#include "tests/common/store/store_test_support.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace agentlb::store;
using namespace agentlb::store::test;

namespace {

std::optional<std::string> optional_text(const char* text) {
    return std::string(text);
}

}  // namespace

TEST_CASE_METHOD(StoreFixture, "redeeming a token creates the host, records its serial and uses the token") {
    store->create_token(TokenSpec{"t1", optional_text("z1"), std::nullopt, 100, 1});
    const std::int64_t g0 = store->generation();

    auto result = store->redeem_token(RedeemRequest{"t1", "h1", std::nullopt, 10}, issuer.fn());
    REQUIRE(result);
    CHECK(result->host.id == 1);
    CHECK(result->host.name == "h1");
    CHECK(result->host.zone == "z1");
    CHECK(result->host.created_at == 10);
    CHECK(result->certificate.serial == "h1-1");
    CHECK(result->certificate.pem == "PEM for h1");
    CHECK_FALSE(result->re_enrolled);
    CHECK(store->generation() == g0 + 1);

    auto certificates = store->certificates_of("h1");
    REQUIRE(certificates.size() == 1);
    CHECK(certificates[0].serial == "h1-1");
    CHECK(certificates[0].host_id == 1);
    CHECK(certificates[0].not_after == 1001);
    CHECK_FALSE(certificates[0].revoked);
}

TEST_CASE_METHOD(StoreFixture, "the zone comes from the token, else the request, else default") {
    store->create_token(TokenSpec{"token-zone", optional_text("z1"), std::nullopt, 100, 1});
    store->create_token(TokenSpec{"request-zone", std::nullopt, std::nullopt, 100, 1});
    store->create_token(TokenSpec{"no-zone", std::nullopt, std::nullopt, 100, 1});
    store->create_token(TokenSpec{"same-zone", optional_text("z3"), std::nullopt, 100, 1});

    CHECK(store->redeem_token({"token-zone", "a", optional_text(""), 10}, issuer.fn())->host.zone == "z1");
    CHECK(store->redeem_token({"request-zone", "b", optional_text("z2"), 10}, issuer.fn())->host.zone ==
          "z2");
    CHECK(store->redeem_token({"no-zone", "c", std::nullopt, 10}, issuer.fn())->host.zone == "default");
    CHECK(store->redeem_token({"same-zone", "d", optional_text("z3"), 10}, issuer.fn())->host.zone == "z3");
}

TEST_CASE_METHOD(StoreFixture, "every refused redemption leaves no host row and the token as it was") {
    enroll("taken");  // host 1, serial taken-1
    store->create_token(TokenSpec{"used", std::nullopt, std::nullopt, 100, 1});
    REQUIRE(store->redeem_token({"used", "first", std::nullopt, 10}, issuer.fn()));
    store->create_token(TokenSpec{"plain", std::nullopt, std::nullopt, 100, 1});
    store->create_token(TokenSpec{"zoned", optional_text("z1"), std::nullopt, 100, 1});
    store->create_token(TokenSpec{"named", std::nullopt, optional_text("h5"), 100, 1});

    const std::int64_t g0 = store->generation();
    const int calls0 = issuer.calls;
    const auto hosts0 = store->list_hosts().size();

    struct Case {
        RedeemRequest request;
        std::string message;
    };
    const std::vector<Case> cases = {
        {{"nope", "new", std::nullopt, 10}, "unknown join token"},
        {{"used", "second", std::nullopt, 10}, "join token already used"},
        {{"plain", "new", std::nullopt, 100}, "join token expired"},
        {{"plain", "new", std::nullopt, 500}, "join token expired"},
        {{"zoned", "new", optional_text("z2"), 10},
         "join token is for zone \"z1\", but the agent asked for zone \"z2\""},
        {{"plain", "taken", std::nullopt, 10},
         "host \"taken\" is already registered; enrolling it again needs a token created with --name taken"},
        {{"named", "h6", std::nullopt, 10}, "join token was created for host \"h5\", not for \"h6\""},
        {{"plain", "", std::nullopt, 10}, "host name is empty"},
        {{"plain", "a/CN=x", std::nullopt, 10},
         "host name \"a/CN=x\" contains '/' at position 2; a host name may hold only letters, digits, '-' "
         "and "
         "'.' between labels (RFC 1123)"},
    };
    for (const auto& c : cases) {
        INFO("token " << c.request.token_hash << ", host '" << c.request.name << "'");
        auto result = store->redeem_token(c.request, issuer.fn());
        REQUIRE_FALSE(result);
        CHECK(result.error() == c.message);
    }
    CHECK(issuer.calls == calls0);
    CHECK(store->list_hosts().size() == hosts0);
    CHECK_FALSE(store->find_host("new").has_value());
    CHECK_FALSE(store->find_host("second").has_value());
    CHECK_FALSE(store->find_host("h6").has_value());
    CHECK(store->certificates_of("taken").size() == 1);
    CHECK_FALSE(store->is_revoked("taken-1"));
    CHECK(store->generation() == g0);

    // The unused tokens still work; the used one is still used.
    CHECK(store->redeem_token({"plain", "p", std::nullopt, 99}, issuer.fn()));
    CHECK(store->redeem_token({"zoned", "z", optional_text("z1"), 10}, issuer.fn()));
    CHECK(store->redeem_token({"named", "h5", std::nullopt, 10}, issuer.fn()));
    CHECK(store->redeem_token({"used", "third", std::nullopt, 10}, issuer.fn()).error() ==
          "join token already used");
}

TEST_CASE_METHOD(StoreFixture, "a failed issue rolls the enrollment back and the token can be used again") {
    store->create_token(TokenSpec{"t1", std::nullopt, std::nullopt, 100, 1});
    const std::int64_t g0 = store->generation();

    auto failing = [](const HostRecord& host) -> agentlb::Result<IssuedCertificate> {
        CHECK(host.id == 1);  // the row exists inside the transaction
        return agentlb::fail("CSR signature does not verify");
    };
    auto result = store->redeem_token({"t1", "h1", std::nullopt, 10}, failing);
    REQUIRE_FALSE(result);
    CHECK(result.error() == "CSR signature does not verify");
    CHECK(store->list_hosts().empty());
    CHECK(store->generation() == g0);

    auto throwing = [](const HostRecord&) -> agentlb::Result<IssuedCertificate> {
        throw std::runtime_error("CA key unreadable");
    };
    CHECK_THROWS_AS(store->redeem_token({"t1", "h1", std::nullopt, 10}, throwing), std::runtime_error);
    CHECK(store->list_hosts().empty());

    auto retried = store->redeem_token({"t1", "h1", std::nullopt, 11}, issuer.fn());
    REQUIRE(retried);
    CHECK(retried->host.id == 1);  // the rolled-back ids were not consumed
    CHECK(store->generation() == g0 + 1);
}

TEST_CASE_METHOD(StoreFixture, "re-enrolling with a token created for the name keeps the id and revokes") {
    HostRecord h1 = enroll("h1");
    enroll("h2");
    store->record_certificate(h1.id, IssuedCertificate{"pem", "renewed", 1500});
    const std::int64_t g0 = store->generation();

    SECTION("without a zone the host keeps its zone") {
        store->create_token(TokenSpec{"again", std::nullopt, optional_text("h1"), 100, 20});
        auto result = store->redeem_token({"again", "h1", std::nullopt, 30}, issuer.fn());
        REQUIRE(result);
        CHECK(result->re_enrolled);
        CHECK(result->host.id == h1.id);
        CHECK(result->host.zone == "default");
        CHECK(result->host.created_at == h1.created_at);
    }
    SECTION("a zone given moves the host") {
        store->create_token(TokenSpec{"again", std::nullopt, optional_text("h1"), 100, 20});
        auto result = store->redeem_token({"again", "h1", optional_text("z9"), 30}, issuer.fn());
        REQUIRE(result);
        CHECK(result->host.id == h1.id);
        CHECK(result->host.zone == "z9");
        CHECK(store->host_ids_in_zone("z9") == std::vector<std::int64_t>{h1.id});
    }
    CHECK(store->list_hosts().size() == 2);
    CHECK(store->is_revoked("h1-1"));
    CHECK(store->is_revoked("renewed"));
    CHECK_FALSE(store->is_revoked("h1-3"));
    CHECK_FALSE(store->is_revoked("h2-2"));
    CHECK(store->certificates_of("h1").size() == 3);
    CHECK(store->generation() == g0 + 1);
}

TEST_CASE_METHOD(StoreFixture, "a name token for a new name enrols a new host") {
    store->create_token(TokenSpec{"named", std::nullopt, optional_text("fresh"), 100, 1});
    auto result = store->redeem_token({"named", "fresh", std::nullopt, 10}, issuer.fn());
    REQUIRE(result);
    CHECK_FALSE(result->re_enrolled);
    CHECK(result->host.id == 1);
}

TEST_CASE_METHOD(StoreFixture, "a failed issue during re-enrolment keeps the host's zone and certificates") {
    HostRecord h1 = enroll("h1", optional_text("z1"));
    store->create_token(TokenSpec{"again", std::nullopt, optional_text("h1"), 100, 20});
    auto failing = [](const HostRecord& host) -> agentlb::Result<IssuedCertificate> {
        CHECK(host.zone == "z2");
        return agentlb::fail("CSR refused");
    };
    auto result = store->redeem_token({"again", "h1", optional_text("z2"), 30}, failing);
    REQUIRE_FALSE(result);
    CHECK(store->find_host("h1")->zone == "z1");
    CHECK_FALSE(store->is_revoked("h1-1"));
    CHECK(store->revoked_serials().empty());

    auto retried = store->redeem_token({"again", "h1", optional_text("z2"), 31}, issuer.fn());
    REQUIRE(retried);
    CHECK(retried->host.id == h1.id);
    CHECK(store->is_revoked("h1-1"));
}

TEST_CASE_METHOD(StoreFixture, "a duplicate token hash throws StoreError naming what was being done") {
    store->create_token(TokenSpec{"same", std::nullopt, std::nullopt, 100, 1});
    std::string message;
    try {
        store->create_token(TokenSpec{"same", std::nullopt, std::nullopt, 200, 2});
    } catch (const StoreError& e) {
        message = e.what();
    }
    INFO(message);
    CHECK_THAT(message, Catch::Matchers::Contains("storing a join token"));
    CHECK_THAT(message, Catch::Matchers::Contains("unique", Catch::CaseSensitive::No));
    CHECK_THAT(message, Catch::Matchers::Contains(shown_location(db)));
    // The first token is untouched.
    CHECK(store->redeem_token({"same", "h1", std::nullopt, 150}, issuer.fn()).error() ==
          "join token expired");
}
