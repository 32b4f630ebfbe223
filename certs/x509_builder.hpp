#pragma once

// The steps shared by the CA's self-signed certificate and issued ones.
// Internal to certs/.

#include "certs/handles.hpp"
#include "common/util/clock.hpp"
#include "common/util/result.hpp"

#include <cstdint>
#include <initializer_list>

namespace agentlb::certs {

// Client clocks run a little behind: certificates start this long before
// the moment they are made.
inline constexpr std::int64_t kNotBeforeBackdateSeconds = 5 * 60;

// The backdating of a certificate valid for `validity_seconds`: at most a
// tenth of it, so that a short one's renewal point lies ahead.
constexpr std::int64_t backdate_for(std::int64_t validity_seconds) {
    return validity_seconds / 10 < kNotBeforeBackdateSeconds ? validity_seconds / 10
                                                             : kNotBeforeBackdateSeconds;
}

// When a certificate the CA made was issued, from its dates (notBefore plus
// its backdating; notAfter - notBefore is the validity plus the backdating).
constexpr std::int64_t issue_time_of(std::int64_t not_before, std::int64_t not_after) {
    const std::int64_t span = not_after - not_before;
    return not_before + (span >= 11 * kNotBeforeBackdateSeconds ? kNotBeforeBackdateSeconds : span / 11);
}

// 128 random bits, top bit cleared (a positive DER INTEGER of at most 16
// bytes), never zero.
Status set_random_serial(X509* certificate);

Status set_validity(X509* certificate, std::int64_t not_before, std::int64_t not_after);

// What every agentlb CA certificate carries, for `ca init` and a rotation's
// successor alike: a random serial, notBefore backdated from `now`, notAfter
// `validity_seconds` after `now`, basicConstraints critical CA:TRUE
// pathlen:0, keyUsage critical keyCertSign+cRLSign and a
// subjectKeyIdentifier. The subject and public key must be set already.
Status set_ca_body(X509* certificate, std::int64_t now, std::int64_t validity_seconds);

// Adds one extension from OpenSSL's config syntax ("critical,CA:TRUE").
// `value` is always a constant of ours, never text from a request.
// `issuer` is needed for authorityKeyIdentifier.
Status add_extension(X509* certificate, X509* issuer, int nid, const char* value);

struct ExtensionSpec {
    int nid;
    const char* value;
};
// add_extension for each, in order, stopping at the first failure.
Status add_extensions(X509* certificate, X509* issuer, std::initializer_list<ExtensionSpec> extensions);

}  // namespace agentlb::certs
