#include "mgmt/enroll_request.hpp"

#include "certs/pem.hpp"
#include "certs/token.hpp"
#include "common/util/host_name.hpp"
#include "common/util/zone_name.hpp"

#include <exception>
#include <utility>

namespace agentlb::mgmt {
namespace {

EnrollReply refusal(std::string result, std::string code, std::string message) {
    EnrollReply reply;
    reply.message = wire::Error{std::move(code), std::move(message)};
    reply.result = std::move(result);
    reply.client_fault = true;
    return reply;
}

struct Redeemed {
    std::optional<store::Enrollment> enrollment;
    std::string refusal;
    bool bad_csr = false;
    std::vector<std::int64_t> ids;
};

Redeemed redeem(const wire::EnrollRequest& request,
                store::Store& store,
                const certs::CertificateAuthority& ca,
                std::int64_t now) {
    Redeemed redeemed;
    store::RedeemRequest redeem;
    redeem.token_hash = certs::hash_token(request.token);
    redeem.name = request.name;
    if (!request.zone.empty()) {
        redeem.zone = request.zone;
    }
    redeem.now = now;
    auto issue = [&](const store::HostRecord& host) -> Result<store::IssuedCertificate> {
        certs::IssueOptions options;
        options.kind = certs::CertificateKind::agent;
        // The stored name: a re-enrolment asked as `KVM1` still certifies `kvm1`.
        options.common_name = host.name;
        auto issued = ca.issue(request.csr, options);
        if (!issued) {
            redeemed.bad_csr = true;
            return fail(issued.error());
        }
        return store::IssuedCertificate{issued->pem, issued->serial, issued->not_after};
    };
    auto result = store.redeem_token(redeem, issue);
    if (!result) {
        redeemed.refusal = result.error();
        return redeemed;
    }
    redeemed.ids = store.host_ids_in_zone(result->host.zone);
    redeemed.enrollment = std::move(result).value();
    return redeemed;
}

EnrollReply bad_request(std::string message) {
    return refusal("bad_request", "bad_request", std::move(message));
}

}  // namespace

EnrollIncoming decode_enroll_payload(std::string_view payload) {
    wire::Message message;
    std::string detail;
    if (const auto ec = wire::decode_message(payload, message, detail)) {
        auto why = detail.empty() ? ec.message() : std::move(detail);
        return EnrollIncoming{std::nullopt, bad_request(std::move(why))};
    }
    if (auto* request = std::get_if<wire::EnrollRequest>(&message)) {
        return EnrollIncoming{std::move(*request), std::nullopt};
    }
    return EnrollIncoming{
        std::nullopt,
        bad_request("expected an enroll message, got '" + std::string(wire::message_type(message)) + "'")};
}

EnrollReply refuse_bad_frame(const boost::system::error_code& ec) {
    return bad_request("bad frame: " + ec.message());
}

std::optional<EnrollReply> precheck_enroll_request(const wire::EnrollRequest& request) {
    if (auto ok = util::check_host_name(request.name); !ok) {
        return refusal("bad_request", "bad_request", "name: " + ok.error());
    }
    // The zone the agent asks for may become the host's zone: the rule of
    // `token create --zone`. Empty: not asked for.
    if (!request.zone.empty()) {
        if (auto ok = util::check_zone(request.zone); !ok) {
            return refusal("bad_request", "bad_request", ok.error());
        }
    }
    if (!certs::is_well_formed_join_token(request.token)) {
        return refusal("refused",
                       "invalid_token",
                       "the join token is malformed (copy it again from `agentlbctl token create`)");
    }
    // A garbage CSR is refused before the token is touched.
    if (auto csr = certs::parse_csr_pem(request.csr); !csr) {
        return refusal("bad_csr", "bad_csr", "csr: " + csr.error());
    }
    return std::nullopt;
}

EnrollReply answer_enroll_request(const wire::EnrollRequest& request,
                                  store::Store& store,
                                  const certs::CertificateAuthority& ca,
                                  const ClusterSnapshot& snapshot,
                                  std::int64_t now) {
    if (auto refused = precheck_enroll_request(request)) {
        return std::move(*refused);
    }
    Redeemed redeemed;
    try {
        redeemed = redeem(request, store, ca, now);
    } catch (const std::exception& e) {
        EnrollReply reply;
        reply.message = wire::Error{"unavailable", "the server cannot use its store; try another server"};
        reply.result = "store_error";
        reply.store_failure = e.what();
        return reply;
    }
    if (!redeemed.enrollment) {
        if (redeemed.bad_csr) {
            return refusal("bad_csr", "bad_csr", "csr: " + redeemed.refusal);
        }
        return refusal("refused", "enrollment_refused", redeemed.refusal);
    }
    const store::Enrollment& enrollment = *redeemed.enrollment;
    const auto assignment = compute_assignment(snapshot, redeemed.ids, enrollment.host.id);
    wire::EnrollResponse response;
    response.host_id = enrollment.host.id;
    response.name = enrollment.host.name;
    response.zone = enrollment.host.zone;
    response.certificate = enrollment.certificate.pem;
    response.ca = ca.certificate_pem();
    response.list = assignment.list;
    response.algorithm = assignment.algorithm;
    response.interval = assignment.interval;

    EnrollReply reply;
    reply.message = std::move(response);
    reply.result = "ok";
    reply.re_enrolled = enrollment.re_enrolled;
    return reply;
}

}  // namespace agentlb::mgmt
