// The enrollment decision without sockets (mgmt/enroll_request.hpp).

#include "mgmt/enroll_request.hpp"

#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "certs/token.hpp"
#include "common/util/clock.hpp"
#include "tests/support/ca_fixture.hpp"

#include <catch2/catch.hpp>

using namespace agentlb;
using namespace agentlb::mgmt;
using namespace agentlb::test;

namespace {

struct Bench {
    CaFixture fixture;
    ClusterSnapshot snapshot = empty_snapshot();

    EnrollReply answer(const std::string& token, const std::string& name, const std::string& csr) {
        return answer_enroll_request(wire::EnrollRequest{token, csr, name, ""},
                                     fixture.store(),
                                     fixture.ca(),
                                     snapshot,
                                     util::unix_now());
    }
};

const wire::Error& error_of(const EnrollReply& reply) {
    const auto* error = std::get_if<wire::Error>(&reply.message);
    REQUIRE(error != nullptr);
    return *error;
}

}  // namespace

TEST_CASE("enroll request: a good token enrolls and the reply carries the certificate") {
    Bench bench;
    auto reply = bench.answer(bench.fixture.create_token(), "kvm1", make_key_and_csr("kvm1").csr_pem);
    CHECK(reply.result == "ok");
    CHECK_FALSE(reply.client_fault);
    const auto* enrolled = std::get_if<wire::EnrollResponse>(&reply.message);
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
        CHECK(reply.result == c.result);
        CHECK(error_of(reply).code == c.code);
        CHECK(reply.client_fault);
        CHECK(precheck_enroll_request(wire::EnrollRequest{c.token, c.csr, c.name, ""}).has_value() ==
              (c.code != "enrollment_refused"));
    }
    CHECK(bench.fixture.store().list_hosts().empty());
}

TEST_CASE("enroll request: a zone with a space or a control character is refused before the store") {
    Bench bench;
    const auto token = bench.fixture.create_token();
    for (const std::string zone : {"zone 1", "z\n1", "z\x7f"}) {
        INFO(zone);
        const auto reply =
            answer_enroll_request(wire::EnrollRequest{token, make_key_and_csr("kvm1").csr_pem, "kvm1", zone},
                                  bench.fixture.store(),
                                  bench.fixture.ca(),
                                  bench.snapshot,
                                  util::unix_now());
        CHECK(error_of(reply).code == "bad_request");
        CHECK_THAT(error_of(reply).message, Catch::Contains("zone"));
        CHECK(error_of(reply).message.find('\n') == std::string::npos);
    }
    CHECK(bench.fixture.store().list_hosts().empty());
    CHECK(bench.answer(token, "kvm1", make_key_and_csr("kvm1").csr_pem).result == "ok");
}

TEST_CASE("enroll request: a requested zone is at most 256 bytes") {
    const std::string token = certs::generate_join_token();
    const std::string csr = make_key_and_csr("kvm1").csr_pem;
    CHECK_FALSE(precheck_enroll_request(wire::EnrollRequest{token, csr, "kvm1", std::string(256, 'z')}));
    const auto refused =
        precheck_enroll_request(wire::EnrollRequest{token, csr, "kvm1", std::string(257, 'z')});
    REQUIRE(refused);
    CHECK(refused->result == "bad_request");
    CHECK(error_of(*refused).code == "bad_request");
    CHECK_THAT(error_of(*refused).message, Catch::Contains("257 bytes long; at most 256"));
}
