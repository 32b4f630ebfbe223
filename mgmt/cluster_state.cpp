#include "mgmt/cluster_state.hpp"

#include "common/lb/endpoint.hpp"
#include "common/util/host_name.hpp"

#include <algorithm>

namespace agentlb::mgmt {

Result<ClusterSnapshot> make_snapshot(std::int64_t generation,
                                      lb::LbSettings settings,
                                      std::map<std::string, std::vector<std::int64_t>> host_ids_by_zone,
                                      std::vector<store::ServerRecord> servers) {
    auto algorithm = lb::find_algorithm(settings.algorithm);
    if (!algorithm) {
        return fail(std::string(lb::kAlgorithmKey) + ": " + algorithm.error());
    }
    ClusterSnapshot snapshot;
    snapshot.generation = generation;
    snapshot.settings = std::move(settings);
    snapshot.algorithm = *algorithm;
    snapshot.host_ids_by_zone = std::move(host_ids_by_zone);
    for (auto& [zone, ids] : snapshot.host_ids_by_zone) {
        std::sort(ids.begin(), ids.end());
    }
    snapshot.servers = std::move(servers);
    snapshot.avoid = avoid_entries(snapshot.settings.hosts, snapshot.servers);
    return snapshot;
}

lb::CertificateSettings certificate_settings_at(const ClusterSnapshot& snapshot,
                                                const lb::ConfigScope& place) {
    if (snapshot.scoped.overrides.empty() || place.zone.empty()) {
        return snapshot.certificates;
    }
    auto settings = lb::certificate_settings_from_config(lb::effective_values(snapshot.scoped, place));
    return settings ? *settings : snapshot.certificates;
}

wire::Renewal renewal_of(const lb::CertificateSettings& settings) {
    return wire::Renewal{std::string(certs::to_string(settings.key_type)),
                         settings.renewal_permille,
                         settings.automatic_renewal};
}

ClusterSnapshot empty_snapshot() {
    auto settings = lb::settings_from_config({});
    auto snapshot =
        make_snapshot(-1, settings ? std::move(settings).value() : lb::LbSettings{{}, "static", 0}, {}, {});
    // The defaults always name a known algorithm.
    return std::move(snapshot).value();
}

std::vector<std::string> avoid_entries(const std::vector<std::string>& hosts,
                                       const std::vector<store::ServerRecord>& servers) {
    std::vector<std::string> avoid;
    for (const auto& entry : hosts) {
        const bool down = std::any_of(servers.begin(), servers.end(), [&](const store::ServerRecord& server) {
            return (server.state != store::kServerUp || server.maintenance) &&
                   lb::same_endpoint(entry, server.address);
        });
        if (down) {
            avoid.push_back(entry);
        }
    }
    return avoid;
}

namespace {

std::string lowered(std::string_view name) {
    std::string out(name);
    for (char& c : out) {
        c = util::ascii_lower(c);
    }
    return out;
}

}  // namespace

std::map<std::string, std::vector<std::int64_t>> host_ids_by_zone_of(
    const std::vector<store::HostRecord>& hosts) {
    std::map<std::string, std::vector<std::int64_t>> ids;
    for (const auto& host : hosts) {
        ids[host.zone].push_back(host.id);
    }
    for (auto& [zone, zone_ids] : ids) {
        std::sort(zone_ids.begin(), zone_ids.end());
    }
    return ids;
}

std::unordered_map<std::string, KnownHost> hosts_by_name_of(const std::vector<store::HostRecord>& hosts) {
    std::unordered_map<std::string, KnownHost> by_name;
    by_name.reserve(hosts.size());
    for (const auto& host : hosts) {
        by_name.emplace(lowered(host.name), KnownHost{host.id, host.zone, host.cluster});
    }
    return by_name;
}

std::unordered_map<std::int64_t, KnownHost> hosts_by_id_of(const std::vector<store::HostRecord>& hosts) {
    std::unordered_map<std::int64_t, KnownHost> by_id;
    by_id.reserve(hosts.size());
    for (const auto& host : hosts) {
        by_id.emplace(host.id, KnownHost{host.id, host.zone, host.cluster});
    }
    return by_id;
}

const KnownHost* find_host_by_id(const ClusterSnapshot& snapshot, std::int64_t host_id) {
    const auto it = snapshot.hosts_by_id.find(host_id);
    return it == snapshot.hosts_by_id.end() ? nullptr : &it->second;
}

std::pair<std::map<lb::ConfigScope, PlaceSettings>, std::vector<std::string>> places_of(
    const lb::ScopedConfig& config, const std::vector<store::ServerRecord>& servers) {
    std::map<lb::ConfigScope, PlaceSettings> places;
    std::vector<std::string> refused;
    for (const auto& [scope, values] : config.overrides) {
        auto settings = lb::settings_from_config(lb::effective_values(config, scope));
        if (!settings) {
            refused.push_back(lb::describe_scope(scope) + ": " + settings.error());
            continue;
        }
        auto algorithm = lb::find_algorithm(settings->algorithm);
        if (!algorithm) {
            refused.push_back(lb::describe_scope(scope) + ": " + std::string(lb::kAlgorithmKey) + ": " +
                              algorithm.error());
            continue;
        }
        auto weights = lb::weights_from_config(lb::effective_values(config, scope), settings->hosts);
        if (!weights) {
            refused.push_back(lb::describe_scope(scope) + ": " + weights.error());
            continue;
        }
        PlaceSettings place;
        place.weights = std::move(weights).value();
        place.avoid = avoid_entries(settings->hosts, servers);
        place.settings = std::move(settings).value();
        place.algorithm = *algorithm;
        places.emplace(scope, std::move(place));
    }
    return {std::move(places), std::move(refused)};
}

PlaceView settings_for(const ClusterSnapshot& snapshot, const lb::ConfigScope& place) {
    if (!place.zone.empty()) {
        auto it = place.cluster.empty() ? snapshot.places.end() : snapshot.places.find(place);
        if (it == snapshot.places.end()) {
            it = snapshot.places.find(lb::ConfigScope{place.zone, ""});
        }
        if (it != snapshot.places.end()) {
            return PlaceView{it->second.settings, it->second.algorithm, it->second.avoid, it->second.weights};
        }
    }
    return PlaceView{snapshot.settings, snapshot.algorithm, snapshot.avoid, snapshot.weights};
}

const KnownHost* find_known_host(const ClusterSnapshot& snapshot, std::string_view name) {
    const auto it = snapshot.hosts_by_name.find(lowered(name));
    return it == snapshot.hosts_by_name.end() ? nullptr : &it->second;
}

bool contains_host(const ClusterSnapshot& snapshot, std::string_view zone, std::int64_t host_id) {
    const auto it = snapshot.host_ids_by_zone.find(std::string(zone));
    return it != snapshot.host_ids_by_zone.end() &&
           std::binary_search(it->second.begin(), it->second.end(), host_id);
}

Assignment compute_assignment(const ClusterSnapshot& snapshot,
                              const lb::ConfigScope& place,
                              std::int64_t host_id) {
    static const std::vector<std::int64_t> kNoHosts;
    const auto it = snapshot.host_ids_by_zone.find(place.zone);
    return compute_assignment(
        snapshot, place, it == snapshot.host_ids_by_zone.end() ? kNoHosts : it->second, host_id);
}

Assignment compute_assignment(const ClusterSnapshot& snapshot,
                              const lb::ConfigScope& place,
                              const std::vector<std::int64_t>& zone_host_ids,
                              std::int64_t host_id) {
    const PlaceView view = settings_for(snapshot, place);
    Assignment assignment;
    assignment.list = view.algorithm->compute({view.settings.hosts, zone_host_ids, host_id, view.weights});
    assignment.algorithm = std::string(view.algorithm->name());
    assignment.interval = view.settings.check_interval;
    assignment.avoid = view.avoid;
    return assignment;
}

Assignment compute_assignment(const ClusterSnapshot& snapshot, std::string_view zone, std::int64_t host_id) {
    return compute_assignment(snapshot, lb::ConfigScope{std::string(zone), ""}, host_id);
}

Assignment compute_assignment(const ClusterSnapshot& snapshot,
                              const std::vector<std::int64_t>& zone_host_ids,
                              std::int64_t host_id) {
    return compute_assignment(snapshot, lb::ConfigScope{}, zone_host_ids, host_id);
}

const store::ServerRecord* find_server(const ClusterSnapshot& snapshot, std::string_view name) {
    for (const auto& server : snapshot.servers) {
        if (server.name == name) {
            return &server;
        }
    }
    return nullptr;
}

bool takes_agents(const ClusterSnapshot& snapshot, std::string_view name) {
    const auto* own = find_server(snapshot, name);
    return own != nullptr && own->state == store::kServerUp && !own->maintenance;
}

bool heartbeat_expired(std::int64_t last_heartbeat,
                       std::int64_t now,
                       std::int64_t interval_seconds,
                       int missed) {
    return now - last_heartbeat > interval_seconds * missed;
}

}  // namespace agentlb::mgmt
