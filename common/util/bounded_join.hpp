#pragma once

// Lists in log lines (server lists, avoid lists, the failures of a connect
// pass) are joined through this: a `host` value may hold thousands of
// entries, and one log line per push or per pass must not carry them all.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::util {

inline constexpr std::size_t kLoggedItems = 8;
inline constexpr std::size_t kLoggedItemBytes = 512;

// "a,b,c" while the list is short; otherwise the first items that fit in
// `max_items` and about `max_bytes`, then "... and N more" (N counts the
// items left out). The first item is always shown, cut to `max_bytes`.
inline std::string join_bounded(const std::vector<std::string>& items,
                                std::string_view separator = ",",
                                std::size_t max_items = kLoggedItems,
                                std::size_t max_bytes = kLoggedItemBytes) {
    std::string out;
    std::size_t shown = 0;
    for (const auto& item : items) {
        const std::size_t added = (shown == 0 ? 0 : separator.size()) + item.size();
        if (shown == max_items || (shown > 0 && out.size() + added > max_bytes)) {
            break;
        }
        if (shown > 0) {
            out += separator;
        }
        if (item.size() > max_bytes) {
            out.append(item, 0, max_bytes);
            out += "...";
        } else {
            out += item;
        }
        ++shown;
    }
    if (shown < items.size()) {
        out += (shown == 0 ? "" : std::string(separator)) + "... and " +
               std::to_string(items.size() - shown) + " more";
    }
    return out;
}

}  // namespace agentlb::util
