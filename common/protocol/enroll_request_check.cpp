#include "common/protocol/enroll_request_check.hpp"

#include "common/util/host_name.hpp"
#include "common/util/join_token.hpp"
#include "common/util/zone_name.hpp"

namespace agentlb::protocol {

std::optional<EnrollRefusal> check_enroll_request(const wire::EnrollRequest& request) {
    using wire::ErrorCode;
    if (auto ok = util::check_host_name(request.name); !ok) {
        return EnrollRefusal{ErrorCode::bad_request, "name: " + ok.error()};
    }
    // The zone the agent asks for may become the host's zone: the rule of
    // `token create --zone`. Empty: not asked for.
    if (!request.zone.empty()) {
        if (auto ok = util::check_zone(request.zone); !ok) {
            return EnrollRefusal{ErrorCode::bad_request, ok.error()};
        }
    }
    if (!util::is_well_formed_join_token(request.token)) {
        return EnrollRefusal{ErrorCode::invalid_token,
                             "the join token is malformed (copy it again from `agentlbctl token create`)"};
    }
    // Whether it parses is the driver's check (OpenSSL), still before the token is touched.
    if (request.csr.empty()) {
        return EnrollRefusal{ErrorCode::bad_csr, "csr: missing (the request holds no certificate request)"};
    }
    return std::nullopt;
}

std::optional<EnrollRefusal> check_renew_expired_request(const wire::RenewExpired& request) {
    using wire::ErrorCode;
    if (request.certificate.empty()) {
        return EnrollRefusal{ErrorCode::bad_request, "certificate: missing (the expired certificate, PEM)"};
    }
    if (request.csr.empty()) {
        return EnrollRefusal{ErrorCode::bad_csr, "csr: missing (the request holds no certificate request)"};
    }
    if (request.signature.empty()) {
        return EnrollRefusal{ErrorCode::bad_request,
                             "signature: missing (the proof of possession of the expired certificate's key)"};
    }
    return std::nullopt;
}

}  // namespace agentlb::protocol
