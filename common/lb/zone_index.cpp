#include "common/lb/zone_index.hpp"

#include "common/lb/endpoint.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_map>

namespace agentlb::lb::detail {
namespace {

constexpr std::int64_t kMaxWeight = 1'000'000;

std::optional<std::string> key_of(std::string_view address) {
    auto endpoint = parse_endpoint(address);
    if (!endpoint) {
        return std::nullopt;
    }
    return identity_key(*endpoint);
}

}  // namespace

ZoneIndex index_zone(const ZoneLoad& zone) {
    ZoneIndex index;
    std::unordered_map<std::string, std::size_t> by_key;
    for (std::size_t row = 0; row < zone.servers.size(); ++row) {
        auto key = key_of(zone.servers[row].address);
        // A server whose address does not parse can be named by no list.
        if (!key || by_key.count(*key) != 0) {
            continue;
        }
        by_key.emplace(std::move(*key), index.servers.size());
        const ZoneServer& server = zone.servers[row];
        index.servers.push_back(row);
        index.counts.push_back(server.counts);
        index.weight.push_back(server.counts ? std::clamp<std::int64_t>(server.weight, 0, kMaxWeight) : 0);
    }
    const std::size_t servers = index.servers.size();
    for (std::size_t s = 0; s < servers; ++s) {
        index.total_weight += index.weight[s];
    }
    if (index.total_weight == 0) {
        // Weight 0 takes no agents unless every server that counts weighs 0.
        for (std::size_t s = 0; s < servers; ++s) {
            index.weight[s] = index.counts[s] ? 1 : 0;
            index.total_weight += index.weight[s];
        }
    }
    for (std::size_t s = 0; s < servers; ++s) {
        index.takes.push_back(index.weight[s] > 0);
    }

    // Lists repeat the same few entries: resolve each distinct text once.
    std::unordered_map<std::string_view, std::optional<std::size_t>> resolved;
    auto resolve = [&](std::string_view text) -> std::optional<std::size_t> {
        if (auto it = resolved.find(text); it != resolved.end()) {
            return it->second;
        }
        std::optional<std::size_t> found;
        if (auto key = key_of(text)) {
            if (auto it = by_key.find(*key); it != by_key.end()) {
                found = it->second;
            }
        }
        resolved.emplace(text, found);
        return found;
    };

    index.count.assign(servers, 0);
    index.current.reserve(zone.agents.size());
    index.entries.reserve(zone.agents.size());
    for (const ZoneAgent& agent : zone.agents) {
        const auto current = resolve(agent.current);
        index.current.push_back(current);
        if (current) {
            ++index.count[*current];
            if (index.counts[*current]) {
                ++index.considered;
            }
        }
        std::vector<IndexedEntry> entries;
        for (std::size_t position = 0; position < agent.list.size(); ++position) {
            const auto server = resolve(agent.list[position]);
            const bool seen = std::any_of(entries.begin(), entries.end(), [&](const IndexedEntry& entry) {
                return server && entry.server == *server;
            });
            if (server && !seen) {
                entries.push_back({*server, position});
            }
        }
        index.entries.push_back(std::move(entries));
    }
    return index;
}

std::vector<std::size_t> move_order(const ZoneLoad& zone, std::vector<std::size_t> agents) {
    std::stable_sort(agents.begin(), agents.end(), [&zone](std::size_t a, std::size_t b) {
        const ZoneAgent& left = zone.agents[a];
        const ZoneAgent& right = zone.agents[b];
        if (left.rtt.has_value() != right.rtt.has_value()) {
            return left.rtt.has_value();
        }
        if (left.rtt && *left.rtt != *right.rtt) {
            return *left.rtt > *right.rtt;
        }
        return left.host_id < right.host_id;
    });
    return agents;
}

}  // namespace agentlb::lb::detail
