#pragma once

// What the store records of this server's own certificate
// (Store::record_server_certificate), read back from its PEM.

#include "common/store/store.hpp"
#include "common/util/result.hpp"

#include <string>
#include <string_view>

namespace agentlb::mgmt {

// Serial, not-after and issue time (not-before plus the backdating the CA
// applies) from `certificate_pem`; `issuer` is the fingerprint of the CA
// that signed it.
Result<store::IssuedCertificate> server_certificate_record(std::string_view certificate_pem,
                                                           std::string_view issuer);

}  // namespace agentlb::mgmt
