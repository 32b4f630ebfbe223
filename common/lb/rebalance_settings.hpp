#pragma once

// The load-aware rebalancer's keys (issue 15): how eagerly it acts, in which
// mode, how full density fills a server, and the mode's schedule. Read by
// agentlb-mgmt per zone, never sent to agents. The rules they feed are
// behaviour.hpp, load_rule.hpp, density.hpp and mode_schedule.hpp.

#include "common/lb/behaviour.hpp"
#include "common/lb/mode_schedule.hpp"
#include "common/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace agentlb::lb {

inline constexpr std::string_view kBehaviourKey = "agentlb.rebalance.behaviour";
inline constexpr std::string_view kModeKey = "agentlb.mode";
inline constexpr std::string_view kDensityMaxAgentsKey = "agentlb.density.max.agents";
inline constexpr std::string_view kModeScheduleKey = "agentlb.mode.schedule";

// 5,000 agents: a fraction of what one server holds (docs/BENCHMARKS.md), so
// a density zone keeps room for a failover onto its filled servers.
inline constexpr std::int64_t kDefaultDensityMaxAgents = 5000;
inline constexpr std::int64_t kMaxDensityMaxAgents = 10000000;

struct RebalanceSettings {
    Behaviour behaviour = Behaviour::off;
    Mode mode = Mode::performance;
    std::int64_t density_max_agents = kDefaultDensityMaxAgents;
    Schedule schedule;

    // The mode at `now`: the schedule's, else `mode`.
    Mode mode_at(std::chrono::system_clock::time_point now) const;
    // Whether the servers act on the zone at `now` (a behaviour, or density):
    // its agents are then sent check interval 0, so the preferred-server
    // check does not send moved agents back.
    bool active_at(std::chrono::system_clock::time_point now) const;
    // Whether the servers may act on the zone at some time (a behaviour,
    // density, or a schedule that can choose density). Its agents are then
    // sent check interval 0 at all times: a time-independent rule, so a
    // schedule's switch pushes no lists and an agent moved by the rebalancer
    // never goes back to its first entry on its own.
    bool may_act() const;
};

// Whether `key` is one of the four keys above.
bool is_rebalance_key(std::string_view key);

// Validates one of the four keys' values; the message does not name the key.
Status validate_rebalance_value(std::string_view key, std::string_view value);

// The four keys from the stored configuration (defaults when unset); a
// corrupt stored value is an error naming the key.
Result<RebalanceSettings> rebalance_settings_from_config(const std::map<std::string, std::string>& stored);

}  // namespace agentlb::lb
