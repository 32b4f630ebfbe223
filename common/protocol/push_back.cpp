#include "common/protocol/push_back.hpp"

#include <algorithm>
#include <cstdint>

namespace agentlb::protocol {

std::string format_push_back(std::chrono::milliseconds retry_after) {
    const auto ms = std::clamp<std::int64_t>(retry_after.count(), 0, kMaxRetryAfter.count());
    std::string line(kPushBackPrefix);
    line += std::to_string(ms);
    line += "\r\n";
    return line;
}

std::optional<PushBack> parse_push_back(std::string_view bytes) {
    if (bytes.size() > kMaxPushBackLine || !bytes.starts_with(kPushBackPrefix) || !bytes.ends_with("\r\n")) {
        return std::nullopt;
    }
    const std::string_view digits =
        bytes.substr(kPushBackPrefix.size(), bytes.size() - kPushBackPrefix.size() - 2);
    // One spelling per value: no empty number, no leading zero, no sign.
    if (digits.empty() || digits.size() > 5 || (digits.size() > 1 && digits.front() == '0')) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    for (const char c : digits) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + (c - '0');
    }
    if (value > kMaxRetryAfter.count()) {
        return std::nullopt;
    }
    return PushBack{std::chrono::milliseconds(value)};
}

bool push_back_incomplete(std::string_view bytes) {
    const std::size_t head = std::min(bytes.size(), kPushBackPrefix.size());
    if (bytes.substr(0, head) != kPushBackPrefix.substr(0, head)) {
        return false;
    }
    std::string_view rest = bytes.substr(head);
    std::size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
        ++digits;
    }
    if (digits > 5) {
        return false;
    }
    rest.remove_prefix(digits);
    return rest.empty() || rest == "\r";
}

}  // namespace agentlb::protocol
