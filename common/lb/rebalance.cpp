#include "common/lb/rebalance.hpp"

#include "common/lb/endpoint.hpp"

#include <algorithm>
#include <cstddef>

namespace agentlb::lb {

namespace {

// The position of `address` in `list`, or list.size() when it is not there.
std::size_t position_of(const std::vector<std::string>& list, std::string_view address) {
    const auto it = std::find_if(list.begin(), list.end(), [address](const std::string& entry) {
        return same_endpoint(entry, address);
    });
    return static_cast<std::size_t>(it - list.begin());
}

}  // namespace

bool entry_available(std::string_view entry, const std::vector<ServerView>& servers) {
    bool registered = false;
    for (const ServerView& server : servers) {
        if (!same_endpoint(entry, server.address)) {
            continue;
        }
        if (server.state != "up" || server.maintenance) {
            return false;
        }
        registered = true;
    }
    return registered;
}

std::optional<std::string> rebalance_destination(const std::vector<std::string>& list,
                                                 std::string_view current,
                                                 const std::vector<ServerView>& servers,
                                                 std::optional<std::string_view> target) {
    const auto destination = std::find_if(list.begin(), list.end(), [&servers](const std::string& entry) {
        return entry_available(entry, servers);
    });
    if (destination == list.end() || same_endpoint(*destination, current)) {
        return std::nullopt;
    }
    if (target) {
        const std::size_t target_at = position_of(list, *target);
        if (target_at == list.size() || target_at >= position_of(list, current)) {
            return std::nullopt;
        }
    }
    return *destination;
}

}  // namespace agentlb::lb
