#include "mgmt/zone_metrics.hpp"

#include "mgmt/metrics.hpp"
#include "mgmt/shared_state.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <set>
#include <utility>

namespace agentlb::mgmt {

std::string render_zone_series(const std::map<std::string, ZoneBalance, std::less<>>& balances) {
    if (balances.empty()) {
        return {};
    }
    std::string out;
    out +=
        "# HELP agentlb_zone_agents Agents connected to each server, per zone, in the whole cluster (the "
        "store's connection records). Shown by one server only: the lowest-named server that is up.\n";
    out += "# TYPE agentlb_zone_agents gauge\n";
    for (const auto& [zone, balance] : balances) {
        const auto shown_zone = escape_label_value(zone);
        for (const auto& [server, count] : balance.agents) {
            out += fmt::format("agentlb_zone_agents{{zone=\"{}\",server=\"{}\"}} {}\n",
                               shown_zone,
                               escape_label_value(server),
                               count);
        }
    }
    out +=
        "# HELP agentlb_zone_imbalance Most agents on one server of the zone divided by the mean over the "
        "servers its agents may use (1 = even, 0 = no agent). Shown by one server only, as "
        "agentlb_zone_agents.\n";
    out += "# TYPE agentlb_zone_imbalance gauge\n";
    for (const auto& [zone, balance] : balances) {
        out += fmt::format(
            "agentlb_zone_imbalance{{zone=\"{}\"}} {}\n", escape_label_value(zone), balance.imbalance);
    }
    return out;
}

std::string render_cluster_series(const std::vector<store::ServerRecord>& servers,
                                  const std::vector<store::ConnectedCount>& counts,
                                  std::size_t hosts_registered) {
    std::array<std::size_t, kServerStateTexts.size()> by_state{};
    std::set<std::string, std::less<>> down;
    for (const auto& server : servers) {
        const auto known = std::find(kServerStateTexts.begin(), kServerStateTexts.end(), server.state);
        // An unknown state counts as down (the last one).
        const auto index = known == kServerStateTexts.end()
                               ? by_state.size() - 1
                               : static_cast<std::size_t>(known - kServerStateTexts.begin());
        ++by_state[index];
        if (kServerStateTexts[index] == store::kServerDown) {
            down.insert(server.name);
        }
    }
    std::int64_t connected = 0;
    for (const auto& count : counts) {
        if (!down.contains(count.server)) {
            connected += count.hosts;
        }
    }
    std::string out;
    out +=
        "# HELP agentlb_cluster_servers Management servers by state in the store (up, preparing, "
        "maintenance, down). Shown by one server only, as agentlb_zone_agents.\n";
    out += "# TYPE agentlb_cluster_servers gauge\n";
    for (std::size_t i = 0; i < kServerStateTexts.size(); ++i) {
        out += fmt::format("agentlb_cluster_servers{{state=\"{}\"}} {}\n", kServerStateTexts[i], by_state[i]);
    }
    out +=
        "# HELP agentlb_hosts_registered Hosts registered in the store. Shown by one server only, as "
        "agentlb_zone_agents.\n";
    out += "# TYPE agentlb_hosts_registered gauge\n";
    out += fmt::format("agentlb_hosts_registered {}\n", hosts_registered);
    out +=
        "# HELP agentlb_hosts_connected Hosts whose connection record names a server that is not down. "
        "Shown by one server only, as agentlb_zone_agents.\n";
    out += "# TYPE agentlb_hosts_connected gauge\n";
    out += fmt::format("agentlb_hosts_connected {}\n", connected);
    return out;
}

void ZoneMetrics::set(std::string text, Clock::time_point at) {
    std::lock_guard lock(mutex_);
    text_ = std::move(text);
    read_at_ = at;
}

void ZoneMetrics::clear() {
    std::lock_guard lock(mutex_);
    text_.clear();
}

std::string ZoneMetrics::render(Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    if (now - read_at_ > kZoneMetricsStaleAfter) {
        return {};
    }
    return text_;
}

void refresh_zone_metrics(store::Store& store,
                          SharedState& state,
                          const std::vector<store::ServerRecord>& servers) {
    const auto exporter = zone_metrics_exporter(servers);
    if (state.stopping.load() || exporter != state.options.name) {
        state.zone_metrics.clear();
        return;
    }
    std::vector<store::ConnectedCount> counts;
    try {
        counts = store.connected_counts();
    } catch (const store::StoreError& e) {
        spdlog::debug("cannot count the connected hosts by zone: {}", e.what());
        state.zone_metrics.clear();
        return;
    }
    const auto snapshot = state.snapshot();
    std::vector<std::string> zones;
    zones.reserve(snapshot->host_ids_by_zone.size());
    std::size_t hosts = 0;
    for (const auto& [zone, ids] : snapshot->host_ids_by_zone) {
        zones.push_back(zone);
        hosts += ids.size();
    }
    const auto usable = usable_servers(servers, snapshot->settings.hosts);
    state.zone_metrics.set(render_zone_series(zone_balances(counts, zones, usable)) +
                               render_cluster_series(servers, counts, hosts),
                           ZoneMetrics::Clock::now());
}

}  // namespace agentlb::mgmt
