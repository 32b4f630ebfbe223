#pragma once

// Checks on the names that go into certificates: the subject CN and the
// subjectAltName entries. They come from operators and from peers' requests.

#include "certs/handles.hpp"
#include "common/util/result.hpp"

#include <string_view>

namespace agentlb::certs {

// 1..64 bytes (the X.509 upper bound for a CN), no control characters.
Status validate_common_name(std::string_view common_name);

// A host name: dot-separated labels of letters, digits, '-' and '_', each
// 1..63 long and not starting or ending with '-', 253 characters at most.
Status validate_dns_name(std::string_view name);

// Subject "CN=<common_name>" after validate_common_name.
Result<X509NamePtr> make_subject_name(std::string_view common_name);

}  // namespace agentlb::certs
