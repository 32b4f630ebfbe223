#include "mgmt/zone_load_view.hpp"

#include <algorithm>
#include <chrono>

namespace agentlb::mgmt {

bool rebalancer_may_act(const lb::ScopedConfig& config) {
    auto acts = [](const std::map<std::string, std::string>& values) {
        auto settings = lb::rebalance_settings_from_config(values);
        return settings && settings->may_act();
    };
    if (acts(config.global)) {
        return true;
    }
    for (const auto& [scope, values] : config.overrides) {
        if (acts(lb::effective_values(config, scope))) {
            return true;
        }
    }
    return false;
}

std::vector<ZoneWork> zone_work(const ClusterSnapshot& snapshot,
                                const lb::ScopedConfig& config,
                                const std::vector<store::HostRecord>& hosts,
                                const std::map<std::int64_t, std::int64_t>& rtt_us) {
    std::vector<ZoneWork> work;
    for (const auto& [zone, ids] : snapshot.host_ids_by_zone) {
        const lb::ConfigScope place{zone, ""};
        auto settings = lb::rebalance_settings_from_config(lb::effective_values(config, place));
        if (!settings || !settings->may_act()) {
            continue;
        }
        ZoneWork item{zone, std::move(settings).value(), {}};
        const PlaceView view = settings_for(snapshot, place);
        for (const auto& address : view.settings.hosts) {
            const auto weight = view.weights.find(address);
            const bool avoided = std::find(view.avoid.begin(), view.avoid.end(), address) != view.avoid.end();
            item.load.servers.push_back(
                {address, weight == view.weights.end() ? 1 : weight->second, !avoided});
        }
        for (const auto& host : hosts) {
            if (host.zone != zone || !host.connected_to) {
                continue;
            }
            const auto* server = find_server(snapshot, *host.connected_to);
            if (server == nullptr) {
                continue;
            }
            lb::ZoneAgent agent;
            agent.host_id = host.id;
            agent.current = server->address;
            agent.list = compute_assignment(snapshot, {host.zone, host.cluster}, ids, host.id).list;
            if (const auto rtt = rtt_us.find(host.id); rtt != rtt_us.end()) {
                agent.rtt = std::chrono::microseconds(rtt->second);
            }
            item.load.agents.push_back(std::move(agent));
        }
        work.push_back(std::move(item));
    }
    return work;
}

}  // namespace agentlb::mgmt
