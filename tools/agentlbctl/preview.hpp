#pragma once

// What `preview` computes: every host's list and each server's count of
// agents that prefer it, for a given host list and algorithm. Pure: no store,
// no output, so it is tested on its own.

#include "common/lb/algorithm.hpp"
#include "common/util/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentlb::ctl {

inline constexpr std::int64_t kMaxPreviewIds = 1000000;

struct PreviewHost {
    std::int64_t id = 0;
    std::string name;  // empty for ids given with --host-ids
    std::string zone;  // ditto: all of them count as one zone
};

struct PreviewInput {
    std::vector<std::string> ms_list;
    const lb::Algorithm* algorithm = nullptr;
    lb::Weights weights;
    std::vector<PreviewHost> hosts;  // any order; ids unique
    bool new_host = false;
    // With new_host and no hosts at all, the one zone the new host is shown for.
    std::string zone_when_empty;
};

struct PreviewEntry {
    PreviewHost host;
    std::vector<std::string> list;
};

struct PreviewZone {
    std::string zone;
    std::vector<PreviewEntry> hosts;                        // ascending id
    std::optional<std::vector<std::string>> new_host_list;  // set when new_host was asked for
};

struct Preview {
    std::vector<PreviewZone> zones;  // by zone name
    // Every server of ms_list in its order, with how many hosts have it first.
    std::vector<std::pair<std::string, std::int64_t>> preferred;
};

Preview compute_preview(const PreviewInput& input);

using ServerCounts = std::vector<std::pair<std::string, std::int64_t>>;

// How uneven `counts` are: the largest count over its server's fair share
// of the total, the fair share being by weight when `weighted` (servers of
// weight 0 have none and are left out, unless every weight is 0) and equal
// otherwise. For equal shares this is max/mean; 1 = even; 0 with no agents.
double imbalance(const ServerCounts& counts, const lb::Weights& weights, bool weighted);

// What happens when `server` (an entry of ms_list) is down: the agents that
// have it first go to the next entry of their list.
struct DownPreview {
    std::string server;
    std::int64_t agents = 0;  // hosts that have `server` first
    ServerCounts moved_to;    // the other servers in ms_list order: how many of those agents each takes
    double moved_imbalance = 0;
    ServerCounts load;  // the other servers: first places after the failure
    double load_imbalance = 0;
};

DownPreview preview_down(const Preview& preview,
                         const std::vector<std::string>& ms_list,
                         const std::string& server,
                         const lb::Weights& weights,
                         bool weighted);

// How many hosts have another first server in `after` than in `before`
// (the same hosts previewed under two configurations; matched by zone and id).
std::int64_t first_changes(const Preview& before, const Preview& after);

// "1,5,10" or ranges "1-10000,20000": positive ids, spaces around entries
// allowed, no id twice, at most kMaxPreviewIds; the result is ascending.
// Messages name --host-ids and the entry.
Result<std::vector<std::int64_t>> parse_host_ids(std::string_view text);

}  // namespace agentlb::ctl
