#pragma once

// Small text helpers shared by the lb parsers. Internal to agentlb_lb.

#include "common/util/text.hpp"

#include <string>
#include <string_view>

namespace agentlb::lb::detail {

using util::trim;

// Operator input is echoed back in messages: quoted, with control bytes
// visible so a stray tab or newline in a config value can be seen.
using util::quoted;

inline bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

inline bool all_digits(std::string_view text) {
    for (char c : text) {
        if (!is_digit(c)) {
            return false;
        }
    }
    return !text.empty();
}

}  // namespace agentlb::lb::detail
