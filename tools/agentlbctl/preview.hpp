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

// "1,5,10": positive ids, spaces around entries allowed, no duplicates; the
// result is ascending. Messages name --host-ids and the entry.
Result<std::vector<std::int64_t>> parse_host_ids(std::string_view text);

}  // namespace agentlb::ctl
