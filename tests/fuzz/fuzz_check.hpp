#pragma once

// What the fuzz targets share: a property check that crashes loudly (so
// libFuzzer saves the input), and a log-safety test for messages.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

// Unlike assert(), also active in RelWithDebInfo builds.
#define FUZZ_CHECK(condition, what)                                                                   \
    do {                                                                                              \
        if (!(condition)) {                                                                           \
            std::fprintf(                                                                             \
                stderr, "%s:%d: property violated: %s (%s)\n", __FILE__, __LINE__, what, #condition); \
            std::abort();                                                                             \
        }                                                                                             \
    } while (false)

namespace agentlb::fuzz {

// xorshift: cheap, deterministic cuts of a byte stream, seeded from the
// input, so a target sees the same stream in chunks of every size.
struct Chunker {
    std::uint32_t state;
    std::uint32_t next() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        return state;
    }
};

// A message that echoes input is safe for a terminal or a log: no control
// bytes (escaped as \xNN by the project's helpers).
inline bool free_of_control_bytes(std::string_view text) {
    for (const unsigned char c : text) {
        if (c < 0x20 || c == 0x7f) {
            return false;
        }
    }
    return true;
}

}  // namespace agentlb::fuzz
