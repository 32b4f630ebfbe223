#pragma once

// The global configuration keys (CloudStack names) and their validation.

#include "common/lb/weights.hpp"
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
// Read by agentlb-mgmt, not sent to agents: "ADDRESS=WEIGHT,..." naming
// `host` entries as written there (common/lb/weights.hpp).
inline constexpr std::string_view kWeightsKey = "agentlb.server.weights";

// Two minutes: longer than a PostgreSQL restart (seconds) or a failover to a
// standby (a HA manager's leader lease, 30 s by default for Patroni, plus
// promotion and libpq finding the new primary), so a store outage the whole
// cluster shares moves no agent; short enough that agents of a server cut
// off from the store alone get the shared configuration again soon
// (docs/DESIGN.md, "the store unreachable").
inline constexpr std::int64_t kDefaultStoreUnreachableLimit = 120;

// Longest accepted check interval: one year, in seconds.
inline constexpr std::int64_t kMaxCheckInterval = 31536000;

// A key read by agentlb-mgmt only (never sent to agents) whose value is a
// whole number in [min, max].
struct ServerKey {
    std::string_view name;
    std::int64_t default_value;
    std::int64_t min;
    std::int64_t max;
    std::string_view unit;  // "seconds", "agents per second": for messages
};

inline constexpr ServerKey kStoreUnreachableLimit{
    kStoreUnreachableLimitKey, kDefaultStoreUnreachableLimit, 0, kMaxCheckInterval, "seconds"};
// 200 a second: a full mTLS handshake costs a server about 1.2 ms of CPU, so
// the servers taking the agents spend a fraction of a core on them, and
// 10,000 agents leave a server in under a minute.
inline constexpr ServerKey kDrainRate{"agentlb.drain.rate", 200, 1, 100000, "agents per second"};
// Ten minutes: 10,000 agents at the default rate with room for agents that
// find no other server at first (each is asked again after 30 s).
inline constexpr ServerKey kMaintenanceTimeout{
    "agentlb.maintenance.timeout", 600, 0, kMaxCheckInterval, "seconds"};
// A SIGTERM drain must fit the service manager's stop timeout (the systemd
// units allow 90 s): 60 s move 12,000 agents at the default rate.
inline constexpr ServerKey kShutdownTimeout{"agentlb.shutdown.timeout", 60, 0, 3600, "seconds"};

// Handshakes (accept .. welcome) a management server runs at once; the
// excess is pushed back (mgmt/admission.hpp). 0 = 512 per I/O thread: a full
// handshake costs about 1.2 ms of CPU, so 512 of them queue about 0.6 s of
// one thread's work, far inside an agent's 10 s welcome timeout; a lower
// figure pushed back so much of a failover that it took longer (DESIGN.md).
inline constexpr ServerKey kHandshakeMaxInflight{
    "agentlb.handshake.max.inflight", 0, 0, 100000, "handshakes"};

inline constexpr const ServerKey* kServerKeys[] = {
    &kStoreUnreachableLimit, &kDrainRate, &kMaintenanceTimeout, &kShutdownTimeout, &kHandshakeMaxInflight};

struct ConfigKeyInfo {
    std::string_view name;
    std::string_view default_value;
    std::string_view meaning;
};

// In the order of the documentation: host, algorithm, check interval,
// weights, the rebalancer's keys (rebalance_settings.hpp), the kServerKeys, the
// certificate keys, then the ticket keys (ticket_settings.hpp).
const std::vector<ConfigKeyInfo>& config_keys();

// Validates a value before it is stored. Every message starts with the key
// ("host: entry 2 is empty"); an unknown key lists the known ones.
Status validate_config(std::string_view key, std::string_view value);

// The checks that need the other stored keys (`stored`: the configuration
// the value would join), run by the stores inside the write's transaction
// after validate_config: weights must name `host` entries, and a new `host`
// must keep every address the stored weights name. Messages start with the
// key being set and name the other key and the address.
Status validate_config_with(std::string_view key,
                            std::string_view value,
                            const std::map<std::string, std::string>& stored);

// The stored weights checked against `hosts` (the parsed `host`); none when
// unset. A corrupt stored value is an error naming the key.
Result<Weights> weights_from_config(const std::map<std::string, std::string>& stored,
                                    const std::vector<std::string>& hosts);

// Whole seconds, decimal digits only, 0..kMaxCheckInterval. The message does
// not name the key: callers add it.
Result<std::int64_t> parse_check_interval(std::string_view value);

// A server key's value; the message does not name the key.
Result<std::int64_t> parse_server_key(const ServerKey& key, std::string_view value);

// A server key from the stored keys (its default when unset); a corrupt
// stored value is an error naming the key.
Result<std::int64_t> server_key_from_config(const std::map<std::string, std::string>& stored,
                                            const ServerKey& key);

struct LbSettings {
    std::vector<std::string> hosts;  // empty when `host` is unset
    std::string algorithm;
    // What the agents get: 0 whenever the load-aware rebalancer may act on
    // them (RebalanceSettings::may_act), whatever the stored value says.
    std::int64_t check_interval;
};

// Applies defaults to missing keys and validates the stored ones; a corrupt
// stored value is an error naming the key. Keys it does not know are ignored
// (they belong to other components). An empty `host` means unset.
Result<LbSettings> settings_from_config(const std::map<std::string, std::string>& stored);

}  // namespace agentlb::lb
