#include "tools/agentlbctl/preview.hpp"

#include "common/util/text.hpp"
#include "tools/agentlbctl/cli_args.hpp"
#include "tools/agentlbctl/output.hpp"

#include <algorithm>
#include <limits>
#include <map>

namespace agentlb::ctl {

Preview compute_preview(const PreviewInput& input) {
    std::map<std::string, std::vector<PreviewHost>> by_zone;
    for (const PreviewHost& host : input.hosts) {
        by_zone[host.zone].push_back(host);
    }
    if (input.new_host && by_zone.empty()) {
        by_zone[input.zone_when_empty];
    }

    Preview preview;
    for (const std::string& server : input.ms_list) {
        preview.preferred.emplace_back(server, 0);
    }
    for (auto& [zone, hosts] : by_zone) {
        std::sort(hosts.begin(), hosts.end(), [](const PreviewHost& a, const PreviewHost& b) {
            return a.id < b.id;
        });
        std::vector<std::int64_t> ids;
        for (const PreviewHost& host : hosts) {
            ids.push_back(host.id);
        }
        PreviewZone group{zone, {}, std::nullopt};
        for (const PreviewHost& host : hosts) {
            auto list = input.algorithm->compute({input.ms_list, ids, host.id, input.weights});
            if (!list.empty()) {
                auto count = std::find_if(preview.preferred.begin(),
                                          preview.preferred.end(),
                                          [&list](const auto& entry) { return entry.first == list.front(); });
                if (count != preview.preferred.end()) {
                    ++count->second;
                }
            }
            group.hosts.push_back({host, std::move(list)});
        }
        if (input.new_host) {
            // Ids are never reused, so the next host gets one above all of them.
            const std::int64_t next_id = ids.empty() ? 1 : ids.back() + 1;
            group.new_host_list = input.algorithm->compute({input.ms_list, ids, next_id, input.weights});
        }
        preview.zones.push_back(std::move(group));
    }
    return preview;
}

double imbalance(const ServerCounts& counts, const lb::Weights& weights, bool weighted) {
    double total = 0;
    double weight_sum = 0;
    for (const auto& [server, count] : counts) {
        total += static_cast<double>(count);
        weight_sum += weighted ? static_cast<double>(lb::weight_of(weights, server)) : 1.0;
    }
    if (total == 0) {
        return 0;
    }
    const bool by_weight = weighted && weight_sum > 0;
    if (!by_weight) {
        weight_sum = static_cast<double>(counts.size());
    }
    double worst = 0;
    for (const auto& [server, count] : counts) {
        const double weight = by_weight ? static_cast<double>(lb::weight_of(weights, server)) : 1.0;
        if (weight > 0) {
            worst = std::max(worst, static_cast<double>(count) / (total * weight / weight_sum));
        }
    }
    return worst;
}

DownPreview preview_down(const Preview& preview,
                         const std::vector<std::string>& ms_list,
                         const std::string& server,
                         const lb::Weights& weights,
                         bool weighted) {
    DownPreview down;
    down.server = server;
    for (const std::string& entry : ms_list) {
        if (entry != server) {
            down.moved_to.emplace_back(entry, 0);
            down.load.emplace_back(entry, 0);
        }
    }
    auto bump = [](ServerCounts& counts, const std::string& name) {
        auto it = std::find_if(
            counts.begin(), counts.end(), [&name](const auto& entry) { return entry.first == name; });
        if (it != counts.end()) {
            ++it->second;
        }
    };
    for (const PreviewZone& zone : preview.zones) {
        for (const PreviewEntry& entry : zone.hosts) {
            if (entry.list.empty()) {
                continue;
            }
            if (entry.list.front() != server) {
                bump(down.load, entry.list.front());
                continue;
            }
            ++down.agents;
            if (entry.list.size() > 1) {
                bump(down.moved_to, entry.list[1]);
                bump(down.load, entry.list[1]);
            }
        }
    }
    down.moved_imbalance = imbalance(down.moved_to, weights, weighted);
    down.load_imbalance = imbalance(down.load, weights, weighted);
    return down;
}

std::int64_t first_changes(const Preview& before, const Preview& after) {
    std::map<std::pair<std::string, std::int64_t>, std::string> firsts;
    for (const PreviewZone& zone : before.zones) {
        for (const PreviewEntry& entry : zone.hosts) {
            firsts[{zone.zone, entry.host.id}] = entry.list.empty() ? "" : entry.list.front();
        }
    }
    std::int64_t changed = 0;
    for (const PreviewZone& zone : after.zones) {
        for (const PreviewEntry& entry : zone.hosts) {
            const auto it = firsts.find({zone.zone, entry.host.id});
            if (it == firsts.end() || it->second != (entry.list.empty() ? "" : entry.list.front())) {
                ++changed;
            }
        }
    }
    return changed;
}

namespace {

Result<std::int64_t> parse_id(const std::string& what, std::string_view text) {
    return parse_positive_integer(what, text, std::numeric_limits<std::int64_t>::max() - 1);
}

}  // namespace

Result<std::vector<std::int64_t>> parse_host_ids(std::string_view text) {
    std::vector<std::int64_t> ids;
    std::size_t position = 0;
    int entry = 0;
    while (true) {
        ++entry;
        const std::string label = "--host-ids: entry " + std::to_string(entry);
        const std::size_t comma = text.find(',', position);
        const std::string_view item = util::trim(
            text.substr(position,
                        comma == std::string_view::npos ? std::string_view::npos : comma - position),
            " ");
        if (item.empty()) {
            return fail(label + " is empty; expected ids like 1,5,10 or ranges like 1-10000");
        }
        // "A-B"; a leading '-' is a negative id, refused by parse_id.
        const std::size_t dash = item.find('-', 1);
        if (dash == std::string_view::npos) {
            auto id = parse_id(label, item);
            if (!id) {
                return fail(id.error());
            }
            ids.push_back(*id);
        } else {
            auto first = parse_id(label, util::trim(item.substr(0, dash), " "));
            if (!first) {
                return fail(first.error());
            }
            auto last = parse_id(label, util::trim(item.substr(dash + 1), " "));
            if (!last) {
                return fail(last.error());
            }
            if (*last < *first) {
                return fail(label + ": the range " + quote(item) + " ends before it starts");
            }
            if (*last - *first >= kMaxPreviewIds - static_cast<std::int64_t>(ids.size())) {
                return fail("--host-ids: more than " + std::to_string(kMaxPreviewIds) + " ids");
            }
            for (std::int64_t id = *first; id <= *last; ++id) {
                ids.push_back(id);
            }
        }
        if (static_cast<std::int64_t>(ids.size()) > kMaxPreviewIds) {
            return fail("--host-ids: more than " + std::to_string(kMaxPreviewIds) + " ids");
        }
        if (comma == std::string_view::npos) {
            break;
        }
        position = comma + 1;
    }
    std::sort(ids.begin(), ids.end());
    if (auto twice = std::adjacent_find(ids.begin(), ids.end()); twice != ids.end()) {
        return fail("--host-ids: id " + std::to_string(*twice) + " is given twice");
    }
    return ids;
}

}  // namespace agentlb::ctl
