#pragma once

// Configuration per zone and per cluster: which stored value a host gets,
// and where it came from. The most specific wins: the host's cluster, else
// its zone, else the global value, else the key's default.
//
// Pure: the store, agentlbctl and agentlb-mgmt all decide with these.

#include "common/util/result.hpp"

#include <compare>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::lb {

// Where a value applies, or where a host is: zone empty = global (then
// cluster is empty too); cluster empty = the whole zone. A cluster belongs
// to its zone: ("z1", "c1") and ("z2", "c1") are two clusters.
struct ConfigScope {
    std::string zone;
    std::string cluster;

    bool is_global() const { return zone.empty(); }
    auto operator<=>(const ConfigScope&) const = default;
};

// "global", "zone Z", "cluster C of zone Z" (names escaped for people).
std::string describe_scope(const ConfigScope& scope);

// Refuses a cluster without a zone and names that break the zone rule
// (util::check_zone / util::check_cluster).
Status check_scope(const ConfigScope& scope);

// Keys read by each management server for itself (agentlb.store.unreachable.limit,
// agentlb.drain.rate, agentlb.maintenance.timeout, agentlb.shutdown.timeout,
// agentlb.ca.server.cert.validity.period, ca.framework.cert.expiry.alert.period):
// they are about the server, not the hosts, so they have no scope.
bool is_server_only_key(std::string_view key);

// Everything stored: the global values and the overrides by scope.
struct ScopedConfig {
    std::map<std::string, std::string> global;
    // Never holds the global scope; a scope without values is left out.
    std::map<ConfigScope, std::map<std::string, std::string>> overrides;
};

enum class ValueSource { default_value, global, zone, cluster };

struct EffectiveValue {
    std::optional<std::string> value;  // nothing: not stored anywhere (the key's default applies)
    ValueSource source = ValueSource::default_value;
    ConfigScope from;  // the scope that set it (global for global and default)
};

// The value of `key` for a host at `place` (its zone and cluster).
EffectiveValue effective_value(const ScopedConfig& config, std::string_view key, const ConfigScope& place);

// Every stored key's effective value at `place` (defaults not filled in):
// what settings_from_config reads for the hosts there.
std::map<std::string, std::string> effective_values(const ScopedConfig& config, const ConfigScope& place);

// "default", "global", "zone Z", "cluster C" (of the host's own zone).
std::string describe_source(const EffectiveValue& value);

// The places whose effective configuration a change at `scope` can alter:
// `scope` itself and every narrower scope with overrides under it.
std::vector<ConfigScope> places_under(const ScopedConfig& config, const ConfigScope& scope);

// Checks one effective configuration as a whole (values together: a host
// list and what depends on it); the message names the key.
Status check_effective(const std::map<std::string, std::string>& effective);

// What can be said of a change without the stored configuration: the scope
// is valid, a server-only key is global, the value passes validate_config.
Status check_scoped_value(const ConfigScope& scope,
                          std::string_view key,
                          const std::optional<std::string>& value);

// Whether setting `key` to `value` (nothing: removing it) at `scope` may be
// stored: the scope is valid, a server-only key is global, the value passes
// validate_config, and the effective configuration of every place the
// change reaches still holds together (a place that did not before is not
// held against it). The message names the key, and the
// place where the result would not.
Status check_scoped_change(const ScopedConfig& config,
                           const ConfigScope& scope,
                           std::string_view key,
                           const std::optional<std::string>& value);

// `config` with the change applied (nothing: the key removed at `scope`).
ScopedConfig with_change(ScopedConfig config,
                         const ConfigScope& scope,
                         std::string_view key,
                         const std::optional<std::string>& value);

}  // namespace agentlb::lb
