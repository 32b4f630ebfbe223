#include "mgmt/zone_metrics.hpp"

#include "mgmt/metrics.hpp"
#include "mgmt/shared_state.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

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
    for (const auto& [zone, ids] : snapshot->host_ids_by_zone) {
        zones.push_back(zone);
    }
    const auto usable = usable_servers(servers, snapshot->settings.hosts);
    state.zone_metrics.set(render_zone_series(zone_balances(counts, zones, usable)),
                           ZoneMetrics::Clock::now());
}

}  // namespace agentlb::mgmt
