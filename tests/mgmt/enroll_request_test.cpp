// The enrollment decision without sockets: the protocol core's machine with
// the store and the CA (mgmt/enroll_request.hpp).

#include "mgmt/enroll_request.hpp"

#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "certs/token.hpp"
#include "common/util/clock.hpp"
#include "common/wire/frame.hpp"
#include "tests/support/ca_fixture.hpp"

#include <catch2/catch.hpp>

using namespace agentlb;
using namespace agentlb::mgmt;
using namespace agentlb::test;

namespace {

struct Bench {
    CaFixture fixture;
    ClusterSnapshot snapshot = empty_snapshot();

    EnrollExchange answer_bytes(const std::string& bytes) {
        return answer_enroll_bytes(bytes, fixture.store(), fixture.ca(), snapshot, util::unix_now());
    }

    EnrollExchange answer(const wire::EnrollRequest& request) {
        return answer_bytes(wire::encode_frame(wire::encode_message(request)).value());
    }

    EnrollExchange answer(const std::string& token, const std::string& name, const std::string& csr) {
        return answer(wire::EnrollRequest{token, csr, name, ""});
    }
};

const wire::Error& error_of(const EnrollExchange& reply) {
    REQUIRE(reply.answer.has_value());
    const auto* error = std::get_if<wire::Error>(&*reply.answer);
    REQUIRE(error != nullptr);
    return *error;
}

// The agentlb_enrollments_total label.
std::string result_of(const EnrollExchange& reply) {
    REQUIRE(reply.close.has_value());
    return std::string(protocol::enroll_result_label(*reply.close));
}

// Counts toward the rate limit of the sender's address.
bool client_fault(const EnrollExchange& reply) {
    REQUIRE(reply.close.has_value());
    return protocol::counts_against_peer(*reply.close);
}

}  // namespace

TEST_CASE("enroll request: a good token enrolls and the reply carries the certificate") {
    Bench bench;
    auto reply = bench.answer(bench.fixture.create_token(), "kvm1", make_key_and_csr("kvm1").csr_pem);
    CHECK(result_of(reply) == "ok");
    CHECK_FALSE(client_fault(reply));
    REQUIRE(reply.answer.has_value());
    const auto* enrolled = std::get_if<wire::EnrollResponse>(&*reply.answer);
    REQUIRE(enrolled != nullptr);
    CHECK(enrolled->name == "kvm1");
    CHECK(enrolled->ca == bench.fixture.ca_pem());
    auto certificate = certs::parse_certificate_pem(enrolled->certificate);
    REQUIRE(certificate.ok());
    CHECK(certs::common_name_of(certificate->get()) == "kvm1");
}

TEST_CASE("enroll request: each refusal has its code and metric label and counts as the client's fault") {
    Bench bench;
    const auto csr = make_key_and_csr("kvm1").csr_pem;
    struct Case {
        std::string token;
        std::string name;
        std::string csr;
        std::string result;
        std::string code;
    };
    const std::vector<Case> cases = {
        {certs::generate_join_token(), "a/CN=kvm1,O=*", csr, "bad_request", "bad_request"},
        {"short", "kvm1", csr, "refused", "invalid_token"},
        {certs::generate_join_token(), "kvm1", "garbage", "bad_csr", "bad_csr"},
        {certs::generate_join_token(), "kvm1", csr, "refused", "enrollment_refused"},
    };
    for (const auto& c : cases) {
        INFO(c.code);
        const auto reply = bench.answer(c.token, c.name, c.csr);
        CHECK(result_of(reply) == c.result);
        CHECK(error_of(reply).code == c.code);
        CHECK(client_fault(reply));
        // Only a good-looking request reaches the store.
        CHECK(reply.store_asked == (c.code == "enrollment_refused"));
    }
    CHECK(bench.fixture.store().list_hosts().empty());
}

TEST_CASE("enroll request: a zone with a space or a control character is refused before the store") {
    Bench bench;
    const auto token = bench.fixture.create_token();
    for (const std::string zone : {"zone 1", "z\n1", "z\x7f"}) {
        INFO(zone);
        const auto reply =
            bench.answer(wire::EnrollRequest{token, make_key_and_csr("kvm1").csr_pem, "kvm1", zone});
        CHECK_FALSE(reply.store_asked);
        CHECK(error_of(reply).code == "bad_request");
        CHECK_THAT(error_of(reply).message, Catch::Contains("zone"));
        CHECK(error_of(reply).message.find('\n') == std::string::npos);
    }
    CHECK(bench.fixture.store().list_hosts().empty());
    CHECK(result_of(bench.answer(token, "kvm1", make_key_and_csr("kvm1").csr_pem)) == "ok");
}

TEST_CASE("enroll request: a requested zone is at most 256 bytes") {
    Bench bench;
    const std::string token = certs::generate_join_token();
    const std::string csr = make_key_and_csr("kvm1").csr_pem;
    // 256 bytes pass the checks: the (unknown) token is then refused by the store.
    const auto longest = bench.answer(wire::EnrollRequest{token, csr, "kvm1", std::string(256, 'z')});
    CHECK(longest.store_asked);
    CHECK(error_of(longest).code == "enrollment_refused");
    const auto refused = bench.answer(wire::EnrollRequest{token, csr, "kvm1", std::string(257, 'z')});
    CHECK_FALSE(refused.store_asked);
    CHECK(result_of(refused) == "bad_request");
    CHECK(error_of(refused).code == "bad_request");
    CHECK_THAT(error_of(refused).message, Catch::Contains("257 bytes long; at most 256"));
}

TEST_CASE("enroll request: bytes that are no request are answered bad_request without the store") {
    Bench bench;
    const std::string oversized = {0x7f, 0, 0, 0};
    const auto reply = bench.answer_bytes(oversized);
    CHECK_FALSE(reply.store_asked);
    CHECK(result_of(reply) == "bad_request");
    CHECK(error_of(reply).code == "bad_request");
    // Half a frame: the server waits for the rest.
    const auto frame = wire::encode_frame(wire::encode_message(wire::Ping{1})).value();
    const auto waiting = bench.answer_bytes(frame.substr(0, 3));
    CHECK_FALSE(waiting.answer.has_value());
    CHECK_FALSE(waiting.close.has_value());
}
