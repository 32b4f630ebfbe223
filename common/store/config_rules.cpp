#include "common/store/config_rules.hpp"

namespace agentlb::store {

Status check_host_place(const lb::ConfigScope& place) {
    if (place.zone.empty()) {
        return fail("a host needs a zone");
    }
    return lb::check_scope(place);
}

Status check_unset_scope(const lb::ConfigScope& scope, std::string_view key) {
    if (scope.is_global()) {
        return fail(std::string(key) +
                    ": only a value set per zone or cluster can be removed (give --zone, and --cluster for a "
                    "cluster's); change a global value with `config set`");
    }
    return lb::check_scope(scope);
}

std::optional<std::string> value_at(const lb::ScopedConfig& config,
                                    const lb::ConfigScope& scope,
                                    std::string_view key) {
    const std::map<std::string, std::string>* values = &config.global;
    if (!scope.is_global()) {
        const auto it = config.overrides.find(scope);
        if (it == config.overrides.end()) {
            return std::nullopt;
        }
        values = &it->second;
    }
    const auto it = values->find(std::string(key));
    if (it == values->end()) {
        return std::nullopt;
    }
    return it->second;
}

std::string cluster_after_redeem(const std::optional<std::string>& token_cluster,
                                 const std::string& old_zone,
                                 const std::string& old_cluster,
                                 const std::string& new_zone) {
    if (token_cluster) {
        return *token_cluster;
    }
    return old_zone == new_zone ? old_cluster : std::string();
}

}  // namespace agentlb::store
