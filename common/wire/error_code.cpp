#include "common/wire/error_code.hpp"

#include <array>
#include <utility>

namespace agentlb::wire {
namespace {

struct Entry {
    ErrorCode code;
    std::string_view text;
};

// The one place a code's wire text is written.
constexpr std::array kTable{
    Entry{ErrorCode::identity_mismatch, "identity_mismatch"},
    Entry{ErrorCode::unknown_host, "unknown_host"},
    Entry{ErrorCode::revoked, "revoked"},
    Entry{ErrorCode::no_certificate, "no_certificate"},
    Entry{ErrorCode::bad_certificate, "bad_certificate"},
    Entry{ErrorCode::protocol, "protocol"},
    Entry{ErrorCode::unavailable, "unavailable"},
    Entry{ErrorCode::renew_refused, "renew_refused"},
    Entry{ErrorCode::superseded, "superseded"},
    Entry{ErrorCode::draining, "draining"},
    Entry{ErrorCode::enrollment_refused, "enrollment_refused"},
    Entry{ErrorCode::invalid_token, "invalid_token"},
    Entry{ErrorCode::bad_csr, "bad_csr"},
    Entry{ErrorCode::bad_request, "bad_request"},
    Entry{ErrorCode::rate_limited, "rate_limited"},
    Entry{ErrorCode::expired_beyond_grace, "expired_beyond_grace"},
};

static_assert(kTable.size() == std::size(kAllErrorCodes), "every ErrorCode needs its wire text");

}  // namespace

std::string_view error_code_text(ErrorCode code) noexcept {
    for (const auto& entry : kTable) {
        if (entry.code == code) {
            return entry.text;
        }
    }
    return "unknown";
}

std::optional<ErrorCode> error_code_from_text(std::string_view text) noexcept {
    for (const auto& entry : kTable) {
        if (entry.text == text) {
            return entry.code;
        }
    }
    return std::nullopt;
}

Error make_error(ErrorCode code, std::string message) {
    return Error{std::string(error_code_text(code)), std::move(message)};
}

}  // namespace agentlb::wire
