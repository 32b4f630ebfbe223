#pragma once

#include <cstdint>
#include <string>

namespace agentlb::certs {

// What the CA hands back for one request. The store has an identical struct;
// glue code converts between them so certs/ does not depend on the store.
struct IssuedCertificate {
    std::string pem;         // the leaf certificate only
    std::string serial;      // lowercase hex, as serial_of() prints it
    std::int64_t not_after;  // Unix seconds
};

}  // namespace agentlb::certs
