#include "common/lb/scoped_config.hpp"

#include "common/lb/certificate_settings.hpp"
#include "common/lb/config_keys.hpp"
#include "common/lb/text.hpp"
#include "common/lb/ticket_settings.hpp"
#include "common/util/zone_name.hpp"

namespace agentlb::lb {

using detail::quoted;

std::string describe_scope(const ConfigScope& scope) {
    if (scope.is_global()) {
        return "global";
    }
    if (scope.cluster.empty()) {
        return "zone " + quoted(scope.zone);
    }
    return "cluster " + quoted(scope.cluster) + " of zone " + quoted(scope.zone);
}

Status check_scope(const ConfigScope& scope) {
    if (scope.zone.empty()) {
        if (!scope.cluster.empty()) {
            return fail("cluster " + quoted(scope.cluster) +
                        " needs its zone: a cluster belongs to one zone (give --zone too)");
        }
        return success();
    }
    if (auto zone = util::check_zone(scope.zone); !zone) {
        return zone;
    }
    if (!scope.cluster.empty()) {
        return util::check_cluster(scope.cluster);
    }
    return success();
}

bool is_server_only_key(std::string_view key) {
    if (is_certificate_server_only_key(key) || is_ticket_key(key)) {
        return true;
    }
    for (const ServerKey* server_key : kServerKeys) {
        if (server_key->name == key) {
            return true;
        }
    }
    return false;
}

namespace {

const std::string* find_value(const std::map<std::string, std::string>& values, std::string_view key) {
    const auto it = values.find(std::string(key));
    return it == values.end() ? nullptr : &it->second;
}

const std::map<std::string, std::string>* overrides_of(const ScopedConfig& config, const ConfigScope& scope) {
    const auto it = config.overrides.find(scope);
    return it == config.overrides.end() ? nullptr : &it->second;
}

}  // namespace

EffectiveValue effective_value(const ScopedConfig& config, std::string_view key, const ConfigScope& place) {
    if (!place.is_global()) {
        if (!place.cluster.empty()) {
            if (const auto* values = overrides_of(config, place)) {
                if (const std::string* value = find_value(*values, key)) {
                    return EffectiveValue{*value, ValueSource::cluster, place};
                }
            }
        }
        const ConfigScope zone{place.zone, ""};
        if (const auto* values = overrides_of(config, zone)) {
            if (const std::string* value = find_value(*values, key)) {
                return EffectiveValue{*value, ValueSource::zone, zone};
            }
        }
    }
    if (const std::string* value = find_value(config.global, key)) {
        return EffectiveValue{*value, ValueSource::global, {}};
    }
    return EffectiveValue{};
}

std::map<std::string, std::string> effective_values(const ScopedConfig& config, const ConfigScope& place) {
    std::map<std::string, std::string> values = config.global;
    if (place.is_global()) {
        return values;
    }
    // Zone first, then the cluster over it: the most specific is written last.
    if (const auto* zone = overrides_of(config, ConfigScope{place.zone, ""})) {
        for (const auto& [key, value] : *zone) {
            values[key] = value;
        }
    }
    if (!place.cluster.empty()) {
        if (const auto* cluster = overrides_of(config, place)) {
            for (const auto& [key, value] : *cluster) {
                values[key] = value;
            }
        }
    }
    return values;
}

std::string describe_source(const EffectiveValue& value) {
    switch (value.source) {
        case ValueSource::default_value:
            return "default";
        case ValueSource::global:
            return "global";
        case ValueSource::zone:
            return "zone " + value.from.zone;
        case ValueSource::cluster:
            return "cluster " + value.from.cluster;
    }
    return "default";
}

std::vector<ConfigScope> places_under(const ScopedConfig& config, const ConfigScope& scope) {
    std::vector<ConfigScope> places{scope};
    for (const auto& [overridden, values] : config.overrides) {
        if (overridden == scope) {
            continue;
        }
        const bool under = scope.is_global() || (scope.cluster.empty() && overridden.zone == scope.zone);
        if (under) {
            places.push_back(overridden);
        }
    }
    return places;
}

Status check_effective(const std::map<std::string, std::string>& effective) {
    auto settings = settings_from_config(effective);
    if (!settings) {
        return fail(settings.error());
    }
    auto weights = weights_from_config(effective, settings->hosts);
    if (!weights) {
        return fail(weights.error());
    }
    return success();
}

namespace {

// `key`'s own value at a place checked with the others there (its message
// names `key`: "host: agentlb.server.weights names ..."), then the place as a whole.
Status check_place(std::string_view key, const std::map<std::string, std::string>& effective) {
    if (const std::string* value = find_value(effective, key)) {
        if (auto consistent = validate_config_with(key, *value, effective); !consistent) {
            return consistent;
        }
    }
    return check_effective(effective);
}

}  // namespace

ScopedConfig with_change(ScopedConfig config,
                         const ConfigScope& scope,
                         std::string_view key,
                         const std::optional<std::string>& value) {
    auto& values = scope.is_global() ? config.global : config.overrides[scope];
    if (value) {
        values[std::string(key)] = *value;
    } else {
        values.erase(std::string(key));
    }
    if (!scope.is_global() && values.empty()) {
        config.overrides.erase(scope);
    }
    return config;
}

Status check_scoped_value(const ConfigScope& scope,
                          std::string_view key,
                          const std::optional<std::string>& value) {
    if (auto valid = check_scope(scope); !valid) {
        return valid;
    }
    if (!scope.is_global() && is_server_only_key(key)) {
        return fail(std::string(key) +
                    ": cannot be set per zone or cluster: each management server reads it for itself "
                    "(it is about the server, not the hosts); set it globally, without --zone");
    }
    if (value) {
        return validate_config(key, *value);
    }
    return success();
}

Status check_scoped_change(const ScopedConfig& config,
                           const ConfigScope& scope,
                           std::string_view key,
                           const std::optional<std::string>& value) {
    if (auto valid = check_scoped_value(scope, key, value); !valid) {
        return valid;
    }
    const ScopedConfig changed = with_change(config, scope, key, value);
    for (const ConfigScope& place : places_under(changed, scope)) {
        auto whole = check_place(key, effective_values(changed, place));
        // Only what this change breaks: a place already broken (a value
        // written by hand) must not block the change that repairs it.
        if (!whole && check_place(key, effective_values(config, place))) {
            if (place.is_global()) {
                return whole;
            }
            return fail(whole.error() + " (in the effective configuration of " + describe_scope(place) + ")");
        }
    }
    return success();
}

}  // namespace agentlb::lb
