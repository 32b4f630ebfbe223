#include "mgmt/enroll_request.hpp"

#include "certs/pem.hpp"
#include "certs/token.hpp"
#include "mgmt/expired_renewal.hpp"

#include <chrono>
#include <exception>
#include <utility>

namespace agentlb::mgmt {
namespace {

using protocol::EnrollRefusal;
using wire::ErrorCode;

struct Redeemed {
    std::optional<store::Enrollment> enrollment;
    std::string refusal;
    bool bad_csr = false;
    std::vector<std::int64_t> ids;
};

Redeemed redeem(const wire::EnrollRequest& request,
                store::Store& store,
                const certs::CertificateAuthority& ca,
                const ClusterSnapshot& snapshot,
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
        options.validity = certificate_settings_at(snapshot, {host.zone, host.cluster}).agent_validity;
        auto issued = ca.issue(request.csr, options);
        if (!issued) {
            redeemed.bad_csr = true;
            return fail(issued.error());
        }
        return store::IssuedCertificate{issued->pem, issued->serial, issued->not_after, ca.fingerprint()};
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

}  // namespace

std::optional<EnrollRefusal> check_enroll_csr(const wire::EnrollRequest& request) {
    if (auto csr = certs::parse_csr_pem(request.csr); !csr) {
        return EnrollRefusal{ErrorCode::bad_csr, "csr: " + csr.error()};
    }
    return std::nullopt;
}

protocol::EnrollRedeemed redeem_enroll_request(const wire::EnrollRequest& request,
                                               store::Store& store,
                                               const certs::CertificateAuthority& ca,
                                               const ClusterSnapshot& snapshot,
                                               std::int64_t now) {
    Redeemed redeemed;
    try {
        redeemed = redeem(request, store, ca, snapshot, now);
    } catch (const std::exception& e) {
        return protocol::EnrollStoreUnavailable{e.what()};
    }
    if (!redeemed.enrollment) {
        if (redeemed.bad_csr) {
            return EnrollRefusal{ErrorCode::bad_csr, "csr: " + redeemed.refusal};
        }
        return EnrollRefusal{ErrorCode::enrollment_refused, redeemed.refusal};
    }
    const store::Enrollment& enrollment = *redeemed.enrollment;
    const lb::ConfigScope place{enrollment.host.zone, enrollment.host.cluster};
    const auto assignment = compute_assignment(snapshot, place, redeemed.ids, enrollment.host.id);
    protocol::EnrollGranted granted;
    wire::EnrollResponse& response = granted.response;
    response.host_id = enrollment.host.id;
    response.name = enrollment.host.name;
    response.zone = enrollment.host.zone;
    response.certificate = enrollment.certificate.pem;
    // An imported CA: the organisation's root the agent pins, and what links the leaf to it.
    response.ca = ca.trust_anchor_pem();
    response.chain = ca.intermediates_pem();
    response.list = assignment.list;
    response.algorithm = assignment.algorithm;
    response.interval = assignment.interval;
    granted.re_enrolled = enrollment.re_enrolled;
    return granted;
}

protocol::EnrollRedeemed answer_renew_expired(const wire::RenewExpired& request,
                                              store::Store& store,
                                              const certs::CertificateAuthority& ca,
                                              const ClusterSnapshot& snapshot,
                                              std::int64_t now,
                                              std::string_view exporter,
                                              bool& store_asked) {
    auto checked = check_expired_certificate(request, ca, exporter, now);
    if (auto* refused = std::get_if<EnrollRefusal>(&checked)) {
        return std::move(*refused);
    }
    store_asked = true;
    return redeem_expired_certificate(
        request, std::get<ExpiredCertificate>(checked), store, ca, snapshot, now);
}

EnrollExchange answer_enroll_bytes(std::string_view bytes,
                                   store::Store& store,
                                   const certs::CertificateAuthority& ca,
                                   const ClusterSnapshot& snapshot,
                                   std::int64_t now,
                                   std::string_view exporter) {
    using Machine = protocol::EnrollServerMachine;
    // No clock: the deadline never matters here.
    const protocol::TimePoint at{};
    Machine machine(std::chrono::seconds(10), "local");
    EnrollExchange exchange;
    Machine::Actions next_actions = machine.start(at);
    auto more = machine.on_bytes(bytes.data(), bytes.size(), at);
    next_actions.insert(
        next_actions.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    while (!next_actions.empty()) {
        Machine::Action action = std::move(next_actions.front());
        next_actions.erase(next_actions.begin());
        Machine::Actions next;
        if (auto* send = std::get_if<Machine::Send>(&action)) {
            exchange.answer = std::move(send->message);
        } else if (std::holds_alternative<Machine::CheckRateLimit>(action)) {
            next = machine.on_rate_verdict(Machine::RateVerdict::allowed, at);
        } else if (auto* redeem = std::get_if<Machine::Redeem>(&action)) {
            protocol::EnrollRedeemed redeemed;
            if (auto refused = check_enroll_csr(redeem->request)) {
                redeemed = std::move(*refused);
            } else {
                exchange.store_asked = true;
                redeemed = redeem_enroll_request(redeem->request, store, ca, snapshot, now);
            }
            next = machine.on_redeemed(std::move(redeemed), at);
        } else if (auto* renew = std::get_if<Machine::RenewExpiredRedeem>(&action)) {
            auto redeemed = answer_renew_expired(
                renew->request, store, ca, snapshot, now, exporter, exchange.store_asked);
            next = machine.on_redeemed(std::move(redeemed), at);
        } else if (auto* close = std::get_if<Machine::Close>(&action)) {
            exchange.close = std::move(*close);
        }
        next_actions.insert(
            next_actions.end(), std::make_move_iterator(next.begin()), std::make_move_iterator(next.end()));
    }
    return exchange;
}

}  // namespace agentlb::mgmt
