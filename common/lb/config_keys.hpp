#pragma once

// The global configuration keys (CloudStack names) and their validation.

#include "common/util/result.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::lb {

inline constexpr std::string_view kHostKey = "host";
inline constexpr std::string_view kAlgorithmKey = "indirect.agent.lb.algorithm";
inline constexpr std::string_view kCheckIntervalKey = "indirect.agent.lb.check.interval";
// Read by agentlb-mgmt, not sent to agents: how long a management server
// serves without its store before it moves its agents away.
inline constexpr std::string_view kStoreUnreachableLimitKey = "agentlb.store.unreachable.limit";

// Two minutes: longer than a PostgreSQL restart (seconds) or a failover to a
// standby (a HA manager's leader lease, 30 s by default for Patroni, plus
// promotion and libpq finding the new primary), so a store outage the whole
// cluster shares moves no agent; short enough that agents of a server cut
// off from the store alone get the shared configuration again soon
// (docs/DESIGN.md, "the store unreachable").
inline constexpr std::int64_t kDefaultStoreUnreachableLimit = 120;

// Longest accepted check interval: one year, in seconds.
inline constexpr std::int64_t kMaxCheckInterval = 31536000;

struct ConfigKeyInfo {
    std::string_view name;
    std::string_view default_value;
    std::string_view meaning;
};

// In the order of the documentation: host, algorithm, check interval, store
// unreachable limit.
const std::vector<ConfigKeyInfo>& config_keys();

// Validates a value before it is stored. Every message starts with the key
// ("host: entry 2 is empty"); an unknown key lists the known ones.
Status validate_config(std::string_view key, std::string_view value);

// Whole seconds, decimal digits only, 0..kMaxCheckInterval. The message does
// not name the key: callers add it.
Result<std::int64_t> parse_check_interval(std::string_view value);

// agentlb.store.unreachable.limit from the stored keys (the default when
// unset); a corrupt stored value is an error naming the key.
Result<std::int64_t> store_unreachable_limit_from_config(const std::map<std::string, std::string>& stored);

struct LbSettings {
    std::vector<std::string> hosts;  // empty when `host` is unset
    std::string algorithm;
    std::int64_t check_interval;
};

// Applies defaults to missing keys and validates the stored ones; a corrupt
// stored value is an error naming the key. Keys it does not know are ignored
// (they belong to other components). An empty `host` means unset.
Result<LbSettings> settings_from_config(const std::map<std::string, std::string>& stored);

}  // namespace agentlb::lb
