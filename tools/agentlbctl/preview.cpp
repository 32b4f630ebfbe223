#include "tools/agentlbctl/preview.hpp"

#include "tools/agentlbctl/cli_args.hpp"

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

Result<std::vector<std::int64_t>> parse_host_ids(std::string_view text) {
    std::vector<std::int64_t> ids;
    std::size_t position = 0;
    int entry = 0;
    while (true) {
        ++entry;
        const std::size_t comma = text.find(',', position);
        std::string_view item = text.substr(
            position, comma == std::string_view::npos ? std::string_view::npos : comma - position);
        while (!item.empty() && item.front() == ' ') {
            item.remove_prefix(1);
        }
        while (!item.empty() && item.back() == ' ') {
            item.remove_suffix(1);
        }
        if (item.empty()) {
            return fail("--host-ids: entry " + std::to_string(entry) + " is empty; expected ids like 1,5,10");
        }
        auto id = parse_positive_integer(
            "--host-ids: entry " + std::to_string(entry), item, std::numeric_limits<std::int64_t>::max() - 1);
        if (!id) {
            return fail(id.error());
        }
        if (std::find(ids.begin(), ids.end(), *id) != ids.end()) {
            return fail("--host-ids: id " + std::to_string(*id) + " is given twice");
        }
        ids.push_back(*id);
        if (comma == std::string_view::npos) {
            break;
        }
        position = comma + 1;
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

}  // namespace agentlb::ctl
