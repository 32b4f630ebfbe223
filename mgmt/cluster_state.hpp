#pragma once

// What this server knows about the cluster, and the pure decisions made from
// it: each agent's list, the avoid list, whether an agent must be told.
//
// Nothing here does I/O, so every rule is unit-tested without sockets.

#include "common/lb/algorithm.hpp"
#include "common/lb/assignment.hpp"
#include "common/lb/certificate_settings.hpp"
#include "common/lb/config_keys.hpp"
#include "common/lb/scoped_config.hpp"
#include "common/lb/weights.hpp"
#include "common/store/store.hpp"
#include "common/wire/messages.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace agentlb::mgmt {

// A registered host as the snapshot knows it: enough to welcome it while
// the store cannot be read.
struct KnownHost {
    std::int64_t id = 0;
    std::string zone;
    std::string cluster{};  // '' = none
};

// What the hosts of one zone or cluster get when values are set there
// (the effective settings: lb::effective_values).
struct PlaceSettings {
    lb::LbSettings settings{{}, "static", 0};
    const lb::Algorithm* algorithm = nullptr;  // never null once built
    std::vector<std::string> avoid;            // entries of settings.hosts, as in ClusterSnapshot::avoid
    lb::Weights weights;  // agentlb.server.weights there, keyed by settings.hosts entries
};

// The settings one host gets: the snapshot's global ones or a place's.
struct PlaceView {
    const lb::LbSettings& settings;
    const lb::Algorithm* algorithm;
    const std::vector<std::string>& avoid;
    const lb::Weights& weights;
};

// Loaded from the store on every generation change.
struct ClusterSnapshot {
    std::int64_t generation = -1;
    lb::LbSettings settings{{}, "static", 0};
    const lb::Algorithm* algorithm = nullptr;  // never null once built by make_snapshot
    std::map<std::string, std::vector<std::int64_t>> host_ids_by_zone;
    std::vector<store::ServerRecord> servers;
    // Entries of settings.hosts (as written there) that name a server that
    // is not "up" or whose maintenance is requested: agents skip them while
    // anything else answers.
    std::vector<std::string> avoid;
    // agentlb.server.weights, keyed by settings.hosts entries.
    lb::Weights weights;
    // Every registered host by its name in ASCII lower case (names ignore
    // case, as the store's find_host does).
    std::unordered_map<std::string, KnownHost> hosts_by_name;
    // The same hosts by id: where a host is now (zone, cluster), for a
    // session whose host was moved since its hello.
    std::unordered_map<std::int64_t, KnownHost> hosts_by_id;
    // Zones (cluster '') and clusters with values of their own; every other
    // host gets `settings`, `algorithm` and `avoid` above.
    std::map<lb::ConfigScope, PlaceSettings> places;
    // agentlb.store.unreachable.limit, seconds; 0 = never stop serving.
    std::int64_t store_unreachable_limit = lb::kStoreUnreachableLimit.default_value;
    // agentlb.drain.rate: migrate messages a second while draining or rebalancing.
    std::int64_t drain_rate = lb::kDrainRate.default_value;
    // agentlb.maintenance.timeout, seconds; 0 = no limit.
    std::int64_t maintenance_timeout = lb::kMaintenanceTimeout.default_value;
    // agentlb.shutdown.timeout, seconds; 0 = no drain at SIGTERM.
    std::int64_t shutdown_timeout = lb::kShutdownTimeout.default_value;
    // agentlb.handshake.max.inflight; 0 = auto (admission.hpp).
    std::int64_t handshake_max_inflight = lb::kHandshakeMaxInflight.default_value;
    // The certificate settings' global values (what this server applies to
    // itself), and every stored value by scope (for a host's effective ones).
    lb::CertificateSettings certificates{};
    lb::ScopedConfig scoped{};
};

// The certificate settings a host at `place` gets: its cluster's, zone's or
// the global values. A place whose stored values are refused gets the global ones.
lb::CertificateSettings certificate_settings_at(const ClusterSnapshot& snapshot,
                                                const lb::ConfigScope& place);

// What welcome and ms_list tell an agent about its renewals.
wire::Renewal renewal_of(const lb::CertificateSettings& settings);

// Where each server key's value lives in a snapshot.
struct ServerKeyField {
    const lb::ServerKey* key;
    std::int64_t ClusterSnapshot::*field;
};
inline constexpr ServerKeyField kServerKeyFields[] = {
    {&lb::kStoreUnreachableLimit, &ClusterSnapshot::store_unreachable_limit},
    {&lb::kDrainRate, &ClusterSnapshot::drain_rate},
    {&lb::kMaintenanceTimeout, &ClusterSnapshot::maintenance_timeout},
    {&lb::kShutdownTimeout, &ClusterSnapshot::shutdown_timeout},
    {&lb::kHandshakeMaxInflight, &ClusterSnapshot::handshake_max_inflight},
};

// The balancing rules for one agent live in common/lb/assignment.hpp.
using lb::Assignment;
using lb::assignment_to_send;
using lb::held_from_hello;
using lb::needs_update;

// Builds a snapshot from what the store returned (settings from
// lb::settings_from_config). Refused only for an unknown algorithm.
Result<ClusterSnapshot> make_snapshot(std::int64_t generation,
                                      lb::LbSettings settings,
                                      std::map<std::string, std::vector<std::int64_t>> host_ids_by_zone,
                                      std::vector<store::ServerRecord> servers);

// The settings of every zone and cluster with overrides in `config`, from
// their effective configuration (servers as in the snapshot, for the avoid
// lists). A place whose stored values are refused is left out, its hosts
// falling back to the wider settings, and named in the result's second part
// with the reason.
std::pair<std::map<lb::ConfigScope, PlaceSettings>, std::vector<std::string>> places_of(
    const lb::ScopedConfig& config, const std::vector<store::ServerRecord>& servers);

// The settings for a host at `place`: its cluster's if set there, else its
// zone's, else the global ones.
PlaceView settings_for(const ClusterSnapshot& snapshot, const lb::ConfigScope& place);

// The defaults (no `host`, static, interval 0) with no hosts or servers:
// what a server uses before its first load.
ClusterSnapshot empty_snapshot();

// The entries of `hosts` that name a server not "up" or in maintenance.
std::vector<std::string> avoid_entries(const std::vector<std::string>& hosts,
                                       const std::vector<store::ServerRecord>& servers);

// The hosts' ids by zone (ascending) and by name, from the store's host list.
std::map<std::string, std::vector<std::int64_t>> host_ids_by_zone_of(
    const std::vector<store::HostRecord>& hosts);
std::unordered_map<std::string, KnownHost> hosts_by_name_of(const std::vector<store::HostRecord>& hosts);
std::unordered_map<std::int64_t, KnownHost> hosts_by_id_of(const std::vector<store::HostRecord>& hosts);

// The snapshot's host with this id, wherever it is now.
const KnownHost* find_host_by_id(const ClusterSnapshot& snapshot, std::int64_t host_id);

// The snapshot's host called `name`, in any ASCII case.
const KnownHost* find_known_host(const ClusterSnapshot& snapshot, std::string_view name);

// Whether the snapshot lists host `host_id` in `zone`.
bool contains_host(const ClusterSnapshot& snapshot, std::string_view zone, std::int64_t host_id);

// The list, algorithm, interval and avoid list for one agent at `place`
// (its zone and cluster), from the settings it gets there; roundrobin's
// registered hosts are the zone's.
Assignment compute_assignment(const ClusterSnapshot& snapshot,
                              const lb::ConfigScope& place,
                              std::int64_t host_id);
// Same, with the zone's ascending host ids given (fresher than the snapshot's).
Assignment compute_assignment(const ClusterSnapshot& snapshot,
                              const lb::ConfigScope& place,
                              const std::vector<std::int64_t>& zone_host_ids,
                              std::int64_t host_id);
// For a host of `zone` without a cluster.
Assignment compute_assignment(const ClusterSnapshot& snapshot, std::string_view zone, std::int64_t host_id);
Assignment compute_assignment(const ClusterSnapshot& snapshot,
                              const std::vector<std::int64_t>& zone_host_ids,
                              std::int64_t host_id);

// The snapshot's server record for `name`, if any.
const store::ServerRecord* find_server(const ClusterSnapshot& snapshot, std::string_view name);

// This server's own row says it takes agents: up and not in maintenance. By
// name, since a stale row of another name may share the address.
bool takes_agents(const ClusterSnapshot& snapshot, std::string_view name);

// Whether a peer's heartbeat is too old: more than `missed` intervals.
bool heartbeat_expired(std::int64_t last_heartbeat,
                       std::int64_t now,
                       std::int64_t interval_seconds,
                       int missed);

}  // namespace agentlb::mgmt
