#include "tools/agentlbctl/config_commands.hpp"

#include "common/lb/config_keys.hpp"
#include "tools/agentlbctl/output.hpp"

#include <algorithm>
#include <optional>

namespace agentlb::ctl {
namespace {

const lb::ConfigKeyInfo* find_key(std::string_view name) {
    const auto& keys = lb::config_keys();
    auto it =
        std::find_if(keys.begin(), keys.end(), [name](const lb::ConfigKeyInfo& k) { return k.name == name; });
    return it == keys.end() ? nullptr : &*it;
}

std::string unknown_key_message(std::string_view name) {
    std::string known;
    for (const auto& info : lb::config_keys()) {
        known += known.empty() ? "" : ", ";
        known += info.name;
    }
    return "unknown configuration key " + quote(name) + "; known keys: " + known;
}

ConfigValue value_of(const lb::ConfigKeyInfo& info, const std::optional<std::string>& stored) {
    return {std::string(info.name), stored.value_or(std::string(info.default_value)), !stored.has_value()};
}

int run_config_list(Context& context, const CommandArgs&) {
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    const auto values = effective_config((*store)->list_config());
    if (context.json()) {
        Json list = Json::array();
        for (const auto& v : values) {
            list.push_back(Json{{"name", v.name}, {"value", v.value}, {"default", v.is_default}});
        }
        print_json(context.out(), list);
        return kExitOk;
    }
    Table table({"KEY", "VALUE", "SOURCE"});
    for (const auto& v : values) {
        table.add_row({v.name,
                       v.is_default && v.value.empty() ? "(not set)" : v.value,
                       v.is_default ? "default" : "set"});
    }
    context.out() << table.render();
    return kExitOk;
}

int run_config_get(Context& context, const CommandArgs& args) {
    const std::string& key = args.positionals.at(0);
    const lb::ConfigKeyInfo* info = find_key(key);
    if (info == nullptr) {
        return context.fail(kExitUsage, unknown_key_message(key));
    }
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    const ConfigValue value = value_of(*info, (*store)->get_config(key));
    if (context.json()) {
        print_json(context.out(), Json{{"name", value.name}, {"value", value.value}});
    } else {
        // The bare value, so scripts can use $(agentlbctl config get KEY).
        context.out() << display_text(value.value) << "\n";
    }
    return kExitOk;
}

int run_config_set(Context& context, const CommandArgs& args) {
    const std::string& key = args.positionals.at(0);
    const std::string& value = args.positionals.at(1);
    // Checked before the store is opened, so a refused value never even
    // creates a store file. The store checks again with the same code.
    if (auto valid = lb::validate_config(key, value); !valid) {
        return context.fail(kExitUsage, valid.error());
    }
    auto store = context.open_store(StoreAccess::create_if_missing);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    auto old = (*store)->set_config(key, value);
    if (!old) {
        return context.fail(kExitUsage, old.error());
    }
    const ConfigValue before = value_of(*find_key(key), *old);
    if (context.json()) {
        Json previous = old->has_value() ? Json(**old) : Json(nullptr);
        print_json(context.out(), Json{{"name", key}, {"old", previous}, {"value", value}});
    } else {
        context.out() << key << ": " << describe_value(before) << " -> " << display_text(value) << "\n";
    }
    return kExitOk;
}

}  // namespace

std::vector<ConfigValue> effective_config(const std::map<std::string, std::string>& stored) {
    std::vector<ConfigValue> values;
    for (const auto& info : lb::config_keys()) {
        auto it = stored.find(std::string(info.name));
        values.push_back(
            value_of(info, it == stored.end() ? std::nullopt : std::optional<std::string>(it->second)));
    }
    return values;
}

std::string describe_value(const ConfigValue& value) {
    if (!value.is_default) {
        return display_text(value.value);
    }
    return value.value.empty() ? "(not set)" : display_text(value.value) + " (default)";
}

std::vector<Command> config_commands() {
    return {
        {{"config", "list"},
         "",
         "show every configuration key with its value, or its default",
         "",
         nullptr,
         {},
         run_config_list},
        {{"config", "get"},
         "KEY",
         "print one key's value (its default when not set)",
         "Keys: see `agentlbctl config list`.",
         nullptr,
         {"KEY"},
         run_config_get},
        {{"config", "set"},
         "KEY VALUE",
         "validate and store a value; every management server applies it within a second",
         "Keys: host, indirect.agent.lb.algorithm, indirect.agent.lb.check.interval.\n"
         "A refused value (exit 2) changes nothing. Use -- before a value that starts with \"--\".",
         nullptr,
         {"KEY", "VALUE"},
         run_config_set},
    };
}

}  // namespace agentlb::ctl
