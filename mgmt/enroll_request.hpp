#pragma once

// The enrollment port's work the protocol core cannot do, because it needs
// OpenSSL or the store: parse the CSR, redeem the token and issue the
// certificate in one transaction, build the `enrolled` answer. The rules of
// the exchange (which message, which checks, which answer) are
// protocol::EnrollServerMachine's: EnrollSession drives it over TLS,
// answer_enroll_bytes without sockets (the fuzz target, tests/fuzz, and the
// unit tests).

#include "certs/ca.hpp"
#include "common/protocol/enroll_server_machine.hpp"
#include "common/store/store.hpp"
#include "common/wire/messages.hpp"
#include "mgmt/cluster_state.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace agentlb::mgmt {

// Whether the CSR parses: a garbage CSR is refused (`bad_csr`) before the
// token is touched. Cheap enough for an I/O thread.
std::optional<protocol::EnrollRefusal> check_enroll_csr(const wire::EnrollRequest& request);

// The machine's Redeem, for a request its checks and check_enroll_csr let
// through: in one store transaction the token redeemed and the certificate
// issued, then the `enrolled` answer with the host's list from `snapshot`
// and the zone's ids as just read. Blocks on the store: call it on the store
// thread only. A store failure becomes EnrollStoreUnavailable.
protocol::EnrollRedeemed redeem_enroll_request(const wire::EnrollRequest& request,
                                               store::Store& store,
                                               const certs::CertificateAuthority& ca,
                                               const ClusterSnapshot& snapshot,
                                               std::int64_t now);

// One exchange without sockets: `bytes` as they arrive after the TLS
// handshake, from a peer the rate limit allows, the store asked on this
// thread.
struct EnrollExchange {
    std::optional<wire::Message> answer;
    // Nothing while `bytes` hold no complete frame (the server would wait).
    std::optional<protocol::EnrollServerMachine::Close> close;
    bool store_asked = false;
};
// `exporter`: the connection's TLS exporter value a `renew_expired` must be
// bound to (tls::renew_expired_exporter); empty refuses every renew_expired.
EnrollExchange answer_enroll_bytes(std::string_view bytes,
                                   store::Store& store,
                                   const certs::CertificateAuthority& ca,
                                   const ClusterSnapshot& snapshot,
                                   std::int64_t now,
                                   std::string_view exporter = {});

// The machine's RenewExpiredRedeem: check_expired_certificate, then (when it
// passed) redeem_expired_certificate on this thread (mgmt/expired_renewal.hpp).
// `store_asked` says whether the store was.
protocol::EnrollRedeemed answer_renew_expired(const wire::RenewExpired& request,
                                              store::Store& store,
                                              const certs::CertificateAuthority& ca,
                                              const ClusterSnapshot& snapshot,
                                              std::int64_t now,
                                              std::string_view exporter,
                                              bool& store_asked);

}  // namespace agentlb::mgmt
