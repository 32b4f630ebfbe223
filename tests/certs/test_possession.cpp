// The channel-bound proof of possession of renew_expired (certs/possession.hpp).

#include "certs/possession.hpp"
#include "tests/certs/certs_fixture.hpp"

#include <string>
#include <vector>

using namespace agentlb::certs;
using namespace agentlb::certs::test;

namespace {

struct Holder {
    TestCa test_ca;
    EvpPkeyPtr key;
    X509Ptr certificate;

    Holder() {
        auto made = generate_p256_key();
        REQUIRE(made.ok());
        key = std::move(made).value();
        auto csr = make_csr_pem(key.get(), "kvm1");
        REQUIRE(csr.ok());
        auto issued = test_ca.ca.issue(*csr, agent_options());
        REQUIRE(issued.ok());
        auto parsed = parse_certificate_pem(issued->pem);
        REQUIRE(parsed.ok());
        certificate = std::move(parsed).value();
    }
};

const std::string kExporter(32, 'x');
const std::string kCsr = "-----BEGIN CERTIFICATE REQUEST-----\nnew key\n-----END CERTIFICATE REQUEST-----\n";

}  // namespace

TEST_CASE("possession: the certificate's key proves itself for this exporter value and CSR only") {
    Holder holder;
    auto signature = sign_channel_proof(holder.key.get(), kExporter, kCsr);
    REQUIRE(signature.ok());
    CHECK(verify_channel_proof(holder.certificate.get(), kExporter, kCsr, *signature).ok());

    // Another connection (exporter value), another CSR, another key: refused.
    CHECK_FALSE(verify_channel_proof(holder.certificate.get(), std::string(32, 'y'), kCsr, *signature).ok());
    CHECK_FALSE(verify_channel_proof(holder.certificate.get(), kExporter, kCsr + " ", *signature).ok());
    Holder other;
    auto foreign = sign_channel_proof(other.key.get(), kExporter, kCsr);
    REQUIRE(foreign.ok());
    const auto refused = verify_channel_proof(holder.certificate.get(), kExporter, kCsr, *foreign);
    REQUIRE_FALSE(refused.ok());
    CHECK(
        refused.error() ==
        "the signature does not verify with the certificate's key over this connection's exporter value and "
        "the CSR");
}

TEST_CASE("possession: a signature that is not base64 of a plausible length is refused as such") {
    Holder holder;
    for (const std::string& bad : std::vector<std::string>{"", "abc", "!!!!", std::string(4096, 'A')}) {
        INFO(bad.size());
        const auto refused = verify_channel_proof(holder.certificate.get(), kExporter, kCsr, bad);
        REQUIRE_FALSE(refused.ok());
        CHECK_THAT(refused.error(), Catch::StartsWith("the signature is not base64"));
    }
}
