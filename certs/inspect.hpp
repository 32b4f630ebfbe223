#pragma once

// Reading facts back out of a certificate.

#include "certs/handles.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::certs {

// Lowercase hex without leading zeros, the format IssuedCertificate::serial
// and the revocation list use.
std::string serial_of(X509* certificate);

// The subject's CN as UTF-8, "" when there is none.
std::string common_name_of(X509* certificate);

// Unix seconds.
std::int64_t not_before_of(X509* certificate);
std::int64_t not_after_of(X509* certificate);

// True once two thirds of the validity period have passed at `now` (Unix seconds).
bool needs_renewal(X509* certificate, std::int64_t now);

// When `permille` thousandths of the validity period (notBefore..notAfter)
// have passed, Unix seconds (agentlb.ca.cert.renewal.fraction).
std::int64_t renewal_time(std::int64_t not_before, std::int64_t not_after, int permille);
std::int64_t renewal_time(X509* certificate, int permille);

// subjectAltName entries; addresses in their usual text form ("10.0.0.1", "::1").
std::vector<std::string> dns_names_of(X509* certificate);
std::vector<std::string> ip_addresses_of(X509* certificate);

// Whether the certificate is valid for the address a client dialed: a name,
// an IPv4 or IPv6 address, optionally with a port ("10.0.0.1:8250",
// "[::1]:8250", "ms1.example:8250"; a bare IPv6 address has no port). Only
// subjectAltName entries count, never the subject CN; no partial wildcards.
bool matches_address(X509* certificate, std::string_view host_or_host_port);

}  // namespace agentlb::certs
