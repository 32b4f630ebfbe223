#include "tools/agentlbctl/config_commands.hpp"

#include "common/lb/config_keys.hpp"
#include "common/lb/rebalance_settings.hpp"
#include "common/lb/scoped_config.hpp"
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

// --zone / --cluster: the scope a command works on (global when neither).
Result<lb::ConfigScope> read_scope(const CommandArgs& args) {
    lb::ConfigScope scope;
    for (auto [option, field] :
         {std::pair{"zone", &lb::ConfigScope::zone}, {"cluster", &lb::ConfigScope::cluster}}) {
        if (auto value = args.value(option)) {
            if (value->empty()) {
                return fail("--" + std::string(option) + ": the value is empty");
            }
            scope.*field = std::move(*value);
        }
    }
    if (scope.zone.empty() && !scope.cluster.empty()) {
        return fail("--cluster needs --zone: a cluster belongs to one zone");
    }
    if (auto valid = lb::check_scope(scope); !valid) {
        return fail(valid.error());
    }
    return scope;
}

Json scope_json(const lb::ConfigScope& scope) {
    return Json{{"zone", scope.zone.empty() ? Json(nullptr) : Json(scope.zone)},
                {"cluster", scope.cluster.empty() ? Json(nullptr) : Json(scope.cluster)}};
}

// "global", "zone Z", "cluster C (zone Z)": the SCOPE column.
std::string scope_cell(const lb::ConfigScope& scope) {
    if (scope.is_global()) {
        return "global";
    }
    if (scope.cluster.empty()) {
        return "zone " + display_text(scope.zone);
    }
    return "cluster " + display_text(scope.cluster) + " (zone " + display_text(scope.zone) + ")";
}

// " (zone Z)", " (cluster C of zone Z)" after a key name; nothing for global.
std::string scope_suffix(const lb::ConfigScope& scope) {
    if (scope.is_global()) {
        return "";
    }
    if (scope.cluster.empty()) {
        return " (zone " + display_text(scope.zone) + ")";
    }
    return " (cluster " + display_text(scope.cluster) + " of zone " + display_text(scope.zone) + ")";
}

std::string source_word(lb::ValueSource source) {
    switch (source) {
        case lb::ValueSource::default_value:
            return "default";
        case lb::ValueSource::global:
            return "global";
        case lb::ValueSource::zone:
            return "zone";
        case lb::ValueSource::cluster:
            return "cluster";
    }
    return "default";
}

// Every key's value for hosts at `place`, and where it came from.
// The servers send check interval 0 while the load-aware rebalancer may act
// at `place` (lb::RebalanceSettings::may_act), whatever is stored: shown
// beside the stored value so the operator sees why agents do not check.
bool check_taken_over(const lb::ScopedConfig& config, const lb::ConfigScope& place, std::string_view key) {
    if (key != lb::kCheckIntervalKey) {
        return false;
    }
    auto settings = lb::rebalance_settings_from_config(lb::effective_values(config, place));
    return settings && settings->may_act();
}

int print_effective(Context& context, const lb::ScopedConfig& config, const lb::ConfigScope& place) {
    if (context.json()) {
        Json list = Json::array();
        for (const auto& info : lb::config_keys()) {
            const auto effective = lb::effective_value(config, info.name, place);
            Json entry{{"name", info.name},
                       {"value", effective.value.value_or(std::string(info.default_value))},
                       {"source", source_word(effective.source)}};
            entry.update(scope_json(effective.from));
            if (check_taken_over(config, place, info.name)) {
                entry["sent_to_agents"] = "0";
            }
            list.push_back(std::move(entry));
        }
        print_json(context.out(), list);
        return kExitOk;
    }
    Table table({"KEY", "VALUE", "SOURCE"});
    for (const auto& info : lb::config_keys()) {
        const auto effective = lb::effective_value(config, info.name, place);
        const std::string value = effective.value.value_or(std::string(info.default_value));
        std::string shown = value.empty() && !effective.value ? "(not set)" : display_text(value);
        if (check_taken_over(config, place, info.name)) {
            shown += " (agents get 0: rebalancer)";
        }
        table.add_row({std::string(info.name), shown, display_text(lb::describe_source(effective))});
    }
    context.out() << table.render();
    return kExitOk;
}

int run_config_list(Context& context, const CommandArgs& args) {
    auto scope = read_scope(args);
    if (!scope) {
        return context.fail(kExitUsage, scope.error());
    }
    const auto host_name = args.value("host");
    const bool effective = args.has_flag("effective");
    if (host_name && !effective) {
        return context.fail(kExitUsage, "--host applies only with --effective");
    }
    if (host_name && !scope->is_global()) {
        return context.fail(kExitUsage,
                            "--host takes the host's own zone and cluster: give no --zone or --cluster");
    }
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    const lb::ScopedConfig config = (*store)->scoped_config();
    if (effective) {
        lb::ConfigScope place = *scope;
        if (host_name) {
            const auto host = (*store)->find_host(*host_name);
            if (!host) {
                return context.fail(kExitUsage, "no host named " + quote(*host_name) + " is registered");
            }
            place = lb::ConfigScope{host->zone, host->cluster};
        }
        return print_effective(context, config, place);
    }
    // The global values (defaults filled in) unless a scope was asked for,
    // then every override: all of them, or the asked scope's.
    const bool all = scope->is_global();
    if (context.json()) {
        Json list = Json::array();
        if (all) {
            for (const auto& v : effective_config(config.global)) {
                Json entry{{"name", v.name}, {"value", v.value}, {"default", v.is_default}};
                entry.update(scope_json({}));
                list.push_back(std::move(entry));
            }
        }
        for (const auto& [overridden, values] : config.overrides) {
            if (!all && overridden != *scope) {
                continue;
            }
            for (const auto& [name, value] : values) {
                Json entry{{"name", name}, {"value", value}, {"default", false}};
                entry.update(scope_json(overridden));
                list.push_back(std::move(entry));
            }
        }
        print_json(context.out(), list);
        return kExitOk;
    }
    Table table({"KEY", "VALUE", "SOURCE", "SCOPE"});
    if (all) {
        for (const auto& v : effective_config(config.global)) {
            table.add_row({v.name,
                           v.is_default && v.value.empty() ? "(not set)" : display_text(v.value),
                           v.is_default ? "default" : "set",
                           "global"});
        }
    }
    for (const auto& [overridden, values] : config.overrides) {
        if (!all && overridden != *scope) {
            continue;
        }
        for (const auto& [name, value] : values) {
            table.add_row({display_text(name), display_text(value), "set", scope_cell(overridden)});
        }
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
    auto scope = read_scope(args);
    if (!scope) {
        return context.fail(kExitUsage, scope.error());
    }
    // Checked before the store is opened, so a refused value never even
    // creates a store file. The store checks again with the same code,
    // against the effective configuration of every place it reaches.
    if (auto valid = lb::check_scoped_value(*scope, key, value); !valid) {
        return context.fail(kExitUsage, valid.error());
    }
    auto store = context.open_store(StoreAccess::create_if_missing);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    auto old = scope->is_global() ? (*store)->set_config(key, value)
                                  : (*store)->set_scoped_config(*scope, key, value);
    if (!old) {
        return context.fail(kExitUsage, old.error());
    }
    if (context.json()) {
        Json previous = old->has_value() ? Json(**old) : Json(nullptr);
        Json result{{"name", key}, {"old", previous}, {"value", value}};
        result.update(scope_json(*scope));
        print_json(context.out(), result);
        return kExitOk;
    }
    // At a scope, "not set" means the wider value applies.
    const std::string before = scope->is_global() ? describe_value(value_of(*find_key(key), *old))
                                                  : (old->has_value() ? display_text(**old) : "(not set)");
    context.out() << key << scope_suffix(*scope) << ": " << before << " -> " << display_text(value) << "\n";
    return kExitOk;
}

int run_config_unset(Context& context, const CommandArgs& args) {
    const std::string& key = args.positionals.at(0);
    if (find_key(key) == nullptr) {
        return context.fail(kExitUsage, unknown_key_message(key));
    }
    auto scope = read_scope(args);
    if (!scope) {
        return context.fail(kExitUsage, scope.error());
    }
    if (scope->is_global()) {
        return context.fail(kExitUsage,
                            key +
                                ": only a value set per zone or cluster can be removed (give --zone, and "
                                "--cluster for a cluster's); change a global value with `config set`");
    }
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    auto old = (*store)->unset_scoped_config(*scope, key);
    if (!old) {
        return context.fail(kExitUsage, old.error());
    }
    if (context.json()) {
        Json result{{"name", key}, {"old", old->has_value() ? Json(**old) : Json(nullptr)}};
        result.update(scope_json(*scope));
        print_json(context.out(), result);
        return kExitOk;
    }
    if (!old->has_value()) {
        context.out() << key << scope_suffix(*scope) << ": was not set; nothing changed\n";
    } else {
        context.out() << key << scope_suffix(*scope) << ": " << display_text(**old)
                      << " -> (not set); the wider value applies\n";
    }
    return kExitOk;
}

OptionsPtr scope_options(bool with_effective) {
    auto options = command_options();
    // clang-format off
    options->add_options()
        ("zone", text_value("ZONE"), "the value for the hosts of this zone")
        ("cluster", text_value("CLUSTER"), "with --zone: the value for the hosts of this cluster of the zone");
    if (with_effective) {
        options->add_options()
            ("effective", "show each key's value for a host (--host) or a place (--zone, --cluster), and where "
                          "it comes from: cluster, zone, global or default")
            ("host", text_value("NAME"), "with --effective: the registered host whose values are shown");
    }
    // clang-format on
    return options;
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
         "[--zone ZONE [--cluster CLUSTER]] [--effective [--host NAME]]",
         "show every configuration key with its value, or its default, and every value set per zone or "
         "cluster",
         "With --zone (and --cluster): only the values set there.\n"
         "With --effective: what a host (--host NAME) or a place (--zone, --cluster) gets for each key, and\n"
         "from where; the most specific wins: cluster, then zone, then global, then the default.",
         scope_options(true),
         {},
         run_config_list},
        {{"config", "get"},
         "KEY",
         "print one key's global value (its default when not set)",
         "Keys: see `agentlbctl config list`.",
         nullptr,
         {"KEY"},
         run_config_get},
        {{"config", "set"},
         "[--zone ZONE [--cluster CLUSTER]] KEY VALUE",
         "validate and store a value, globally or for a zone or cluster; every management server applies it "
         "within a second",
         "Keys: host, indirect.agent.lb.algorithm, indirect.agent.lb.check.interval.\n"
         "A scoped value is checked against the scope's effective configuration; the server keys\n"
         "(agentlb.store.unreachable.limit, agentlb.drain.rate, agentlb.maintenance.timeout,\n"
         "agentlb.shutdown.timeout) are global only.\n"
         "A refused value (exit 2) changes nothing. Use -- before a value that starts with \"--\".",
         scope_options(false),
         {"KEY", "VALUE"},
         run_config_set},
        {{"config", "unset"},
         "--zone ZONE [--cluster CLUSTER] KEY",
         "remove a value set for a zone or cluster: its hosts get the wider value again",
         "Global values are changed with `config set`, never removed.",
         scope_options(false),
         {"KEY"},
         run_config_unset},
    };
}

}  // namespace agentlb::ctl
