#pragma once

// `config list`, `config get KEY`, `config set KEY VALUE`, `config unset KEY`, globally or per zone
// and cluster (--zone, --cluster).

#include "tools/agentlbctl/command.hpp"

#include <map>
#include <string>
#include <vector>

namespace agentlb::ctl {

std::vector<Command> config_commands();

struct ConfigValue {
    std::string name;
    std::string value;  // the stored value, else the default ("" for an unset host)
    bool is_default;    // nothing stored
};

// Every known key in documentation order, from what the store holds.
std::vector<ConfigValue> effective_config(const std::map<std::string, std::string>& stored);

// "static (default)", "(not set)" or the value: how a value is shown to people.
std::string describe_value(const ConfigValue& value);

}  // namespace agentlb::ctl
