// The push-back line an agent reads where it expected TLS
// (common/protocol/push_back).
//
// Input: the server's first bytes. Properties: whatever parses is exactly the
// line format_push_back() writes for its value, within 0..60 s and no longer
// than kMaxPushBackLine (one spelling per value); the formatted line of any
// value parses back to it; a line still incomplete is shorter than a whole
// one and does not parse (a reader waiting for more waits for a bounded
// number of bytes).

#include "common/protocol/push_back.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace agentlb::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    if (const auto parsed = parse_push_back(input)) {
        FUZZ_CHECK(input.size() <= kMaxPushBackLine, "a push-back is at most one short line");
        FUZZ_CHECK(parsed->retry_after.count() >= 0 && parsed->retry_after <= kMaxRetryAfter,
                   "retry-after within 0..60 s");
        FUZZ_CHECK(format_push_back(parsed->retry_after) == input, "one spelling per value");
    }
    if (push_back_incomplete(input)) {
        FUZZ_CHECK(input.size() < kMaxPushBackLine, "an incomplete line is shorter than a whole one");
        FUZZ_CHECK(!parse_push_back(input), "an incomplete line does not parse");
    }
    if (size >= 2) {
        const auto value = std::chrono::milliseconds(static_cast<std::int64_t>((data[0] << 8 | data[1])));
        const auto line = format_push_back(value);
        const auto back = parse_push_back(line);
        FUZZ_CHECK(back && back->retry_after == std::min(value, kMaxRetryAfter), "a formatted line parses");
    }
    return 0;
}
