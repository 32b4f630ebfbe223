#include "common/lb/rebalance_settings.hpp"

#include "common/lb/text.hpp"

#include <string>

namespace agentlb::lb {
namespace {

Result<std::int64_t> parse_max_agents(std::string_view value) {
    const std::string expected =
        "; expected agents per server, a whole number from 1 to " + std::to_string(kMaxDensityMaxAgents);
    if (!detail::all_digits(value)) {
        return fail((value.empty() ? std::string("the value is empty")
                                   : detail::quoted(value) + " is not a whole number") +
                    expected);
    }
    std::int64_t number = 0;
    for (char c : value) {
        number = number * 10 + (c - '0');
        if (number > kMaxDensityMaxAgents) {
            return fail(detail::quoted(value) + " is too large" + expected);
        }
    }
    if (number < 1) {
        return fail(detail::quoted(value) + " is too small" + expected);
    }
    return number;
}

}  // namespace

Mode RebalanceSettings::mode_at(std::chrono::system_clock::time_point now) const {
    const auto scheduled = scheduled_mode(schedule, now);
    return scheduled ? scheduled->mode : mode;
}

bool RebalanceSettings::active_at(std::chrono::system_clock::time_point now) const {
    return behaviour != Behaviour::off || mode_at(now) == Mode::density;
}

bool RebalanceSettings::may_act() const {
    if (behaviour != Behaviour::off || mode == Mode::density) {
        return true;
    }
    for (const auto& rule : schedule.rules) {
        if (rule.mode == Mode::density) {
            return true;
        }
    }
    return false;
}

bool is_rebalance_key(std::string_view key) {
    return key == kBehaviourKey || key == kModeKey || key == kDensityMaxAgentsKey || key == kModeScheduleKey;
}

Status validate_rebalance_value(std::string_view key, std::string_view value) {
    if (key == kBehaviourKey) {
        auto behaviour = parse_behaviour(value);
        return behaviour ? success() : fail(behaviour.error());
    }
    if (key == kModeKey) {
        auto mode = parse_mode(value);
        return mode ? success() : fail(mode.error());
    }
    if (key == kDensityMaxAgentsKey) {
        auto number = parse_max_agents(value);
        return number ? success() : fail(number.error());
    }
    auto schedule = parse_schedule(value);
    return schedule ? success() : fail(schedule.error());
}

Result<RebalanceSettings> rebalance_settings_from_config(const std::map<std::string, std::string>& stored) {
    RebalanceSettings settings;
    const auto corrupt = [](std::string_view key, const std::string& reason) {
        return fail(std::string(key) + " (stored value): " + reason);
    };
    if (const auto it = stored.find(std::string(kBehaviourKey)); it != stored.end()) {
        auto behaviour = parse_behaviour(it->second);
        if (!behaviour) {
            return corrupt(kBehaviourKey, behaviour.error());
        }
        settings.behaviour = *behaviour;
    }
    if (const auto it = stored.find(std::string(kModeKey)); it != stored.end()) {
        auto mode = parse_mode(it->second);
        if (!mode) {
            return corrupt(kModeKey, mode.error());
        }
        settings.mode = *mode;
    }
    if (const auto it = stored.find(std::string(kDensityMaxAgentsKey)); it != stored.end()) {
        auto number = parse_max_agents(it->second);
        if (!number) {
            return corrupt(kDensityMaxAgentsKey, number.error());
        }
        settings.density_max_agents = *number;
    }
    if (const auto it = stored.find(std::string(kModeScheduleKey)); it != stored.end()) {
        auto schedule = parse_schedule(it->second);
        if (!schedule) {
            return corrupt(kModeScheduleKey, schedule.error());
        }
        settings.schedule = std::move(*schedule);
    }
    return settings;
}

}  // namespace agentlb::lb
