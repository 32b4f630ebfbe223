#pragma once

// The zones hosts join. A zone becomes a store key, a properties-file value
// and log text, and it travels in every `hello` and `enrolled` message: so it
// is bounded (the frame budget in common/lb assumes this bound) and holds no
// space or control character. Any other byte is allowed; callers that
// decode JSON already hold valid UTF-8.

#include "common/util/result.hpp"
#include "common/util/text.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace agentlb::util {

inline constexpr std::size_t kMaxZoneLength = 256;

// How much of a refused value a message echoes.
inline constexpr std::size_t kZoneShown = 64;

// `what` ("zone", "cluster") starts the messages; the value is echoed
// through peer_text, cut to kZoneShown bytes.
inline Status check_zone_label(std::string_view what, std::string_view zone) {
    if (zone.empty()) {
        return fail(std::string(what) + " is empty");
    }
    const std::string shown = std::string(what) + " " + peer_text(zone, kZoneShown, Quoted::yes);
    if (zone.size() > kMaxZoneLength) {
        return fail(shown + " is " + std::to_string(zone.size()) + " bytes long; at most " +
                    std::to_string(kMaxZoneLength) + (what == "zone" ? " (it travels in every hello)" : ""));
    }
    if (contains_space_or_control(zone)) {
        return fail(shown + " contains a space or a control character");
    }
    return success();
}

inline Status check_zone(std::string_view zone) {
    return check_zone_label("zone", zone);
}

// A cluster belongs to a zone (as in CloudStack) and is named by the same rule.
inline Status check_cluster(std::string_view cluster) {
    return check_zone_label("cluster", cluster);
}

}  // namespace agentlb::util
