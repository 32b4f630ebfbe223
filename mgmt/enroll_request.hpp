#pragma once

// The decisions of one enrollment request, without sockets: checks, token
// redemption, issuance and the reply. EnrollSession feeds it what arrived on
// the enrollment port; the fuzz target (tests/fuzz) feeds it anything.

#include "certs/ca.hpp"
#include "common/store/store.hpp"
#include "common/wire/messages.hpp"
#include "mgmt/cluster_state.hpp"

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agentlb::mgmt {

struct EnrollReply {
    wire::Message message;  // `enrolled` or `error`
    // The agentlb_enrollments_total label: ok, bad_request, refused, bad_csr, store_error.
    std::string result;
    // The request was at fault (name, token, CSR), not the server: such
    // refusals count toward the rate limit of the sender's address.
    bool client_fault = false;
    bool re_enrolled = false;
    // What the store threw (logged, never sent: the agent reads `unavailable`).
    std::string store_failure;
};

// What one frame on the enrollment port asked for: the request, or the
// `bad_request` refusal to answer instead.
struct EnrollIncoming {
    std::optional<wire::EnrollRequest> request;
    std::optional<EnrollReply> refusal;
};

// A complete frame's payload, as the enrollment port reads it.
EnrollIncoming decode_enroll_payload(std::string_view payload);
// What a frame the decoder refused (empty, too large) is answered with.
EnrollReply refuse_bad_frame(const boost::system::error_code& ec);

// The checks that need no store (host name, token format, CSR), cheap enough
// for an I/O thread. Nothing when the request may go on to the store.
std::optional<EnrollReply> precheck_enroll_request(const wire::EnrollRequest& request);

// The whole decision: the prechecks, then in one store transaction the token
// redeemed and the certificate issued, then the reply with the host's list
// from `snapshot` and the zone's ids as just read. Blocks on the store: call
// it on the store thread only. A store failure becomes `unavailable`.
EnrollReply answer_enroll_request(const wire::EnrollRequest& request,
                                  store::Store& store,
                                  const certs::CertificateAuthority& ca,
                                  const ClusterSnapshot& snapshot,
                                  std::int64_t now);

}  // namespace agentlb::mgmt
