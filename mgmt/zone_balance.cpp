#include "mgmt/zone_balance.hpp"

#include "common/lb/endpoint.hpp"

#include <algorithm>

namespace agentlb::mgmt {

namespace {

bool takes_agents(const store::ServerRecord& server) {
    return server.state == store::kServerUp && !server.maintenance;
}

}  // namespace

std::optional<std::string> zone_metrics_exporter(const std::vector<store::ServerRecord>& servers) {
    std::optional<std::string> lowest;
    for (const auto& server : servers) {
        if (takes_agents(server) && (!lowest || server.name < *lowest)) {
            lowest = server.name;
        }
    }
    return lowest;
}

std::vector<std::string> usable_servers(const std::vector<store::ServerRecord>& servers,
                                        const std::vector<std::string>& hosts) {
    std::vector<std::string> up;
    std::vector<std::string> listed;
    for (const auto& server : servers) {
        if (!takes_agents(server)) {
            continue;
        }
        up.push_back(server.name);
        const bool named = std::any_of(hosts.begin(), hosts.end(), [&](const std::string& entry) {
            return lb::same_endpoint(entry, server.address);
        });
        if (named) {
            listed.push_back(server.name);
        }
    }
    auto usable = listed.empty() ? std::move(up) : std::move(listed);
    std::sort(usable.begin(), usable.end());
    return usable;
}

double zone_imbalance(const ServerCounts& agents, const std::vector<std::string>& usable) {
    std::int64_t total = 0;
    std::int64_t max = 0;
    std::size_t servers = 0;
    for (const auto& [server, count] : agents) {
        const bool is_usable = std::find(usable.begin(), usable.end(), server) != usable.end();
        if (count > 0 || is_usable) {
            total += count;
            max = std::max(max, count);
            ++servers;
        }
    }
    for (const auto& server : usable) {
        if (agents.find(server) == agents.end()) {
            ++servers;
        }
    }
    if (total <= 0 || servers == 0) {
        return 0.0;
    }
    // max / (total / servers), in one division.
    return static_cast<double>(max) * static_cast<double>(servers) / static_cast<double>(total);
}

std::map<std::string, ZoneBalance, std::less<>> zone_balances(
    const std::vector<store::ConnectedCount>& counts,
    const std::vector<std::string>& zones,
    const std::vector<std::string>& usable) {
    std::map<std::string, ZoneBalance, std::less<>> balances;
    for (const auto& zone : zones) {
        balances[zone];
    }
    for (const auto& count : counts) {
        if (count.hosts > 0) {
            balances[count.zone].agents[count.server] += count.hosts;
        }
    }
    for (auto& [zone, balance] : balances) {
        for (const auto& server : usable) {
            balance.agents.try_emplace(server, 0);
        }
        balance.imbalance = zone_imbalance(balance.agents, usable);
    }
    return balances;
}

}  // namespace agentlb::mgmt
