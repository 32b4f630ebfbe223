#pragma once

// The codes an `error` frame carries, as a type. Their wire text lives in
// one table (error_code.cpp); code compares these values, never text.
// wire::Error keeps the code as received, because a newer peer may send a
// code this build does not know: error_code_from_text() then says so.

#include "common/wire/messages.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace agentlb::wire {

enum class ErrorCode {
    // Agent port (8250).
    identity_mismatch,  // hello names a host other than the certificate's
    unknown_host,       // no host of that name is registered
    revoked,            // the certificate serial is revoked, or the host was removed
    no_certificate,     // no client certificate
    bad_certificate,    // the client certificate fails a check other than revocation
    protocol,           // a message the exchange does not allow here
    unavailable,        // the server cannot use its store: retry, here or on another server
    renew_refused,      // the CSR of a `renew` was refused
    superseded,         // a newer session of this host is connected elsewhere
    draining,           // the server takes no agents now (maintenance, shutting down): try the next
    // Enrollment port (8251).
    enrollment_refused,  // wrong, used or expired token
    invalid_token,       // the token is malformed
    bad_csr,
    bad_request,
    rate_limited,
    expired_beyond_grace,  // renew_expired: expired longer ago than the grace period, or the grace is 0
};

// Every code, in declaration order (tests and docs walk it).
inline constexpr ErrorCode kAllErrorCodes[] = {
    ErrorCode::identity_mismatch,
    ErrorCode::unknown_host,
    ErrorCode::revoked,
    ErrorCode::no_certificate,
    ErrorCode::bad_certificate,
    ErrorCode::protocol,
    ErrorCode::unavailable,
    ErrorCode::renew_refused,
    ErrorCode::superseded,
    ErrorCode::draining,
    ErrorCode::enrollment_refused,
    ErrorCode::invalid_token,
    ErrorCode::bad_csr,
    ErrorCode::bad_request,
    ErrorCode::rate_limited,
    ErrorCode::expired_beyond_grace,
};

// "identity_mismatch", "rate_limited", ...: the `code` field on the wire,
// also the reason label of the servers' refusal metrics.
std::string_view error_code_text(ErrorCode code) noexcept;

// The code a received `error` frame names; nothing for a code this build
// does not know.
std::optional<ErrorCode> error_code_from_text(std::string_view text) noexcept;

// An `error` frame with `code`'s wire text.
Error make_error(ErrorCode code, std::string message);

}  // namespace agentlb::wire
