// check_enrollment_response: what an `enrolled` answer must be before
// anything is written (agent/enrollment.hpp).

#include "agent/enrollment.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "tests/certs/certs_fixture.hpp"

#include <catch2/catch.hpp>

#include <cstdint>

using namespace agentlb;
using namespace agentlb::agent;
using certs::test::agent_options;
using certs::test::TestCa;

TEST_CASE("an enrolment answer with a check interval over one year is refused") {
    TestCa ca;
    auto key = certs::generate_p256_key();
    REQUIRE(key.ok());
    auto csr = certs::make_csr_pem(key->get(), "kvm1");
    REQUIRE(csr.ok());
    auto issued = ca.ca.issue(*csr, agent_options("kvm1"));
    REQUIRE(issued.ok());
    const std::string key_pem = certs::private_key_to_pem(key->get());

    wire::EnrollResponse response;
    response.host_id = 1;
    response.name = "kvm1";
    response.zone = "default";
    response.certificate = issued->pem;
    response.ca = ca.ca.certificate_pem();
    response.list = {"10.0.0.1:8250"};
    response.algorithm = "static";
    response.interval = 31536000;
    auto year = check_enrollment_response(response, key_pem, ca.ca.fingerprint());
    INFO((year ? "" : year.error()));
    CHECK(year.ok());

    response.interval = std::int64_t{1} << 62;
    auto huge = check_enrollment_response(response, key_pem, ca.ca.fingerprint());
    REQUIRE_FALSE(huge.ok());
    CHECK_THAT(huge.error(), Catch::Contains("check interval of 4611686018427387904 s, out of range"));
}
