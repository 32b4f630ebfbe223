#pragma once

// agentlb_zone_agents{zone,server} and agentlb_zone_imbalance{zone} (and
// the cluster series below) on /metrics: the whole cluster's agents per server per zone, from the store's
// connection records. Only the exporter (zone_metrics_exporter: the
// lowest-named server up in this server's view) reads and shows them, so a
// sum over every server's /metrics counts each agent once; the others show
// none of these series. The liveness check, once a second on the store
// thread, does the read (one grouped query, Store::connected_counts).

#include "mgmt/zone_balance.hpp"

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::store {
class Store;
}

namespace agentlb::mgmt {

class SharedState;

// Older than this, the last read is not shown: a server that cannot read its
// store (or is no longer checked) shows nothing rather than stale counts.
inline constexpr std::chrono::seconds kZoneMetricsStaleAfter{5};

// The series' text for `balances` ("" when there is no zone).
std::string render_zone_series(const std::map<std::string, ZoneBalance, std::less<>>& balances);

// agentlb_cluster_servers{state}, agentlb_hosts_registered and
// agentlb_hosts_connected, shown by the exporter with the zone series:
// servers by state (kServerStateTexts; an unknown state counts as down),
// the hosts in the store, and those whose record names a server not down.
std::string render_cluster_series(const std::vector<store::ServerRecord>& servers,
                                  const std::vector<store::ConnectedCount>& counts,
                                  std::size_t hosts_registered);

class ZoneMetrics {
public:
    using Clock = std::chrono::steady_clock;

    // What this server shows from now on: `text` read at `at`, or nothing.
    void set(std::string text, Clock::time_point at);
    void clear();
    // The series, or "" when this server is not the exporter or its last
    // read is older than kZoneMetricsStaleAfter. Any thread.
    std::string render(Clock::time_point now = Clock::now()) const;

private:
    mutable std::mutex mutex_;
    std::string text_;
    Clock::time_point read_at_{};
};

// On the store thread, with the server rows the liveness check just read:
// reads the counts if this server is the exporter (and not stopping) and
// hands them to state.zone_metrics; otherwise clears them without a read.
// A failed read clears them too (the check's own reads report the store).
void refresh_zone_metrics(store::Store& store,
                          SharedState& state,
                          const std::vector<store::ServerRecord>& servers);

}  // namespace agentlb::mgmt
