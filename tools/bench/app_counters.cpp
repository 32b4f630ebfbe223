#include "tools/bench/app_counters.hpp"

#include "tools/bench/mgmt_process.hpp"

namespace agentlb::bench {

void ServerAppCounters::add(const ServerAppCounters& other) {
    to_hosts += other.to_hosts;
    from_hosts += other.from_hosts;
    dropped += other.dropped;
    undeliverable += other.undeliverable;
    relays_sent += other.relays_sent;
}

ServerAppCounters ServerAppCounters::minus(const ServerAppCounters& earlier) const {
    return {to_hosts - earlier.to_hosts,
            from_hosts - earlier.from_hosts,
            dropped - earlier.dropped,
            undeliverable - earlier.undeliverable,
            relays_sent - earlier.relays_sent};
}

ServerAppCounters read_app_counters(std::uint16_t admin_port) {
    ServerAppCounters counters;
    const auto text = http_get(admin_port, "/metrics", std::chrono::seconds(2));
    if (!text) {
        return counters;
    }
    const auto value = [&](const char* name) { return metric_value(*text, name).value_or(0); };
    counters.to_hosts = value("agentlb_app_frames_total{direction=\"to_host\"}");
    counters.from_hosts = value("agentlb_app_frames_total{direction=\"from_host\"}");
    counters.dropped = value("agentlb_app_frames_dropped_total");
    counters.undeliverable = value("agentlb_app_undeliverable_total");
    counters.relays_sent = value("agentlb_peer_relays_total{direction=\"sent\"}");
    return counters;
}

ServerAppCounters read_app_counters(RunContext& run) {
    ServerAppCounters sum;
    for (auto& server : run.servers()) {
        sum.add(read_app_counters(server->spec().admin_port));
    }
    return sum;
}

}  // namespace agentlb::bench
