#pragma once

// The push-back line: what a management server writes, in plain text and
// before reading anything, to a connection it will not take now because too
// many handshakes are in progress (mgmt/admission.hpp):
//
//     AGENTLB-BUSY retry-after-ms=N\r\n      (N: 0..60000, no sign, no leading zero)
//
// It cannot be mistaken for TLS: a TLS record starts with a byte in
// 0x14..0x18, this line with 'A'. It is not authenticated, on purpose: all it
// can make an agent do is try its next server or wait at most 60 s, which a
// dropped SYN can do too (docs/DESIGN.md).

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace agentlb::protocol {

inline constexpr std::string_view kPushBackPrefix = "AGENTLB-BUSY retry-after-ms=";
inline constexpr std::chrono::milliseconds kMaxRetryAfter{60'000};
// The longest line: prefix, five digits, CR LF.
inline constexpr std::size_t kMaxPushBackLine = kPushBackPrefix.size() + 5 + 2;

struct PushBack {
    std::chrono::milliseconds retry_after{0};
    bool operator==(const PushBack&) const = default;
};

// The line for `retry_after`, clamped to 0..kMaxRetryAfter.
std::string format_push_back(std::chrono::milliseconds retry_after);

// `bytes` is exactly one push-back line and nothing else; nullopt otherwise
// (a TLS record, a truncated or longer line, another spelling, a number out
// of range).
std::optional<PushBack> parse_push_back(std::string_view bytes);

// `bytes` is the start of a push-back line that is not complete yet: a
// reader should wait for more before deciding (a TLS record, garbage or a
// whole line answer false).
bool push_back_incomplete(std::string_view bytes);

}  // namespace agentlb::protocol
