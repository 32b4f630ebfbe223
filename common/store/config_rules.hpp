#pragma once

// The rules of scoped configuration writes and host moves, the same for
// every backend: each reads what it needs inside its transaction and asks
// these before it writes anything.

#include "common/lb/scoped_config.hpp"
#include "common/util/result.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace agentlb::store {

// A host is always in a zone; its cluster ('' = none) belongs to that zone.
Status check_host_place(const lb::ConfigScope& place);

// Only overrides are removed: a global value is changed, not removed (its
// removal would silently bring a default back on every host).
Status check_unset_scope(const lb::ConfigScope& scope, std::string_view key);

// The value stored at exactly `scope`, if any.
std::optional<std::string> value_at(const lb::ScopedConfig& config,
                                    const lb::ConfigScope& scope,
                                    std::string_view key);

// The cluster a host has after redeeming a token: the token's, else its
// own if it stays in its zone, else none (a cluster belongs to one zone).
std::string cluster_after_redeem(const std::optional<std::string>& token_cluster,
                                 const std::string& old_zone,
                                 const std::string& old_cluster,
                                 const std::string& new_zone);

}  // namespace agentlb::store
