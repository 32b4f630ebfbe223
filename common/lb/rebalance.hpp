#pragma once

// Where an agent should be so that the cluster keeps its intended layout:
// the one rule that both the servers (acting on `agentlbctl rebalance` and
// `mgmt cancel-maintenance --rebalance`) and `agentlbctl rebalance --dry-run`
// use, so that what the dry run prints is what the servers do.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::lb {

// What the rule needs of one registered management server.
struct ServerView {
    std::string address;  // as registered ("host:port"); compared with same_endpoint
    std::string state;    // effective state: "up", "preparing", "maintenance" or "down"
    bool maintenance = false;
};

// Whether agents may be sent to `entry`: at least one registered server has
// that address, and every one that has it is "up" and not in maintenance
// (the servers' avoid list avoids an entry as soon as one row at that
// address is not). An entry naming no registered server is not available:
// nothing says anything answers there.
bool entry_available(std::string_view entry, const std::vector<ServerView>& servers);

// Where an agent holding `list` and connected to `current` (a server's
// address) should move: the first available entry of its list, when that is
// not `current`; nothing when it stays (already there, or no entry is
// available). An agent on a server its list does not name moves to that
// first available entry.
//
// With `target` (a server's address: cancel-maintenance --rebalance), only
// an agent whose list puts the target ahead of `current` moves (an agent on
// a server its list does not name counts as having the target ahead when its
// list names the target at all).
std::optional<std::string> rebalance_destination(const std::vector<std::string>& list,
                                                 std::string_view current,
                                                 const std::vector<ServerView>& servers,
                                                 std::optional<std::string_view> target = std::nullopt);

}  // namespace agentlb::lb
