#pragma once

// The checks of an `enroll` request that need neither the store nor the CA
// (host name, requested zone, token shape, a CSR present), cheap enough for
// an I/O thread: garbage never queues on the store thread. Parsing the CSR
// needs OpenSSL and stays with the driver (mgmt/enroll_request.hpp).

#include "common/wire/error_code.hpp"
#include "common/wire/messages.hpp"

#include <optional>
#include <string>

namespace agentlb::protocol {

// A refusal of an enrollment request the request itself caused: answered as
// `error` with `code` and `text`, and counted against the sender's address.
struct EnrollRefusal {
    wire::ErrorCode code;
    std::string text;

    bool operator==(const EnrollRefusal&) const = default;
};

// Nothing when the request may go on to the CSR check and the store.
std::optional<EnrollRefusal> check_enroll_request(const wire::EnrollRequest& request);

// The same for `renew_expired`: a certificate, a CSR and a signature present.
std::optional<EnrollRefusal> check_renew_expired_request(const wire::RenewExpired& request);

}  // namespace agentlb::protocol
