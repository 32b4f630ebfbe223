#include "tools/agentlbctl/preview_command.hpp"

#include "common/lb/config_keys.hpp"
#include "common/lb/host_list.hpp"
#include "tools/agentlbctl/output.hpp"

#include <optional>

namespace agentlb::ctl {
namespace {

constexpr std::string_view kDefaultZone = "default";

Json list_json(const std::vector<std::string>& list) {
    Json array = Json::array();
    for (const auto& entry : list) {
        array.push_back(entry);
    }
    return array;
}

Json preview_json(const Preview& preview,
                  bool registered,
                  const std::vector<std::string>& ms_list,
                  std::string_view algorithm_name) {
    auto optional_text = [registered](const std::string& text) {
        return registered ? Json(text) : Json(nullptr);
    };
    Json hosts = Json::array();
    Json new_hosts = Json::array();
    for (const PreviewZone& zone : preview.zones) {
        for (const PreviewEntry& entry : zone.hosts) {
            hosts.push_back(Json{{"id", entry.host.id},
                                 {"name", optional_text(entry.host.name)},
                                 {"zone", optional_text(entry.host.zone)},
                                 {"list", list_json(entry.list)}});
        }
        if (zone.new_host_list) {
            new_hosts.push_back(
                Json{{"zone", optional_text(zone.zone)}, {"list", list_json(*zone.new_host_list)}});
        }
    }
    Json preferred = Json::object();
    for (const auto& [server, count] : preview.preferred) {
        preferred[server] = count;
    }
    Json out{{"algorithm", algorithm_name}, {"host", list_json(ms_list)}, {"hosts", hosts}};
    if (!new_hosts.empty()) {
        out["new_host"] = new_hosts;
    }
    out["preferred"] = preferred;
    return out;
}

int run_preview(Context& context, const CommandArgs& args) {
    const auto host_option = args.value("host");
    const auto algorithm_option = args.value("algorithm");
    const auto ids_option = args.value("host-ids");

    std::optional<std::vector<std::string>> ms_list;
    if (host_option) {
        auto parsed = lb::parse_host_list(*host_option);
        if (!parsed) {
            return context.fail(kExitUsage, "--host: " + parsed.error());
        }
        ms_list = std::move(*parsed);
    }
    const lb::Algorithm* algorithm = nullptr;
    if (algorithm_option) {
        auto found = lb::find_algorithm(*algorithm_option);
        if (!found) {
            return context.fail(kExitUsage, "--algorithm: " + found.error());
        }
        algorithm = *found;
    }
    std::optional<std::vector<std::int64_t>> ids;
    if (ids_option) {
        auto parsed = parse_host_ids(*ids_option);
        if (!parsed) {
            return context.fail(kExitUsage, parsed.error());
        }
        ids = std::move(*parsed);
    }

    PreviewInput input;
    input.new_host = args.has_flag("new-host");
    input.zone_when_empty = std::string(kDefaultZone);
    // Everything proposed on the command line: the store is never opened, so
    // a preview works on any machine.
    if (!ms_list || algorithm == nullptr || !ids) {
        auto store = context.open_store(StoreAccess::existing_only);
        if (!store) {
            return context.fail(kExitFailure, store.error());
        }
        auto settings = lb::settings_from_config((*store)->list_config());
        if (!settings) {
            return context.fail(kExitFailure, "the stored configuration is not valid: " + settings.error());
        }
        if (!ms_list) {
            ms_list = settings->hosts;
        }
        if (algorithm == nullptr) {
            auto found = lb::find_algorithm(settings->algorithm);
            if (!found) {
                return context.fail(kExitFailure, found.error());
            }
            algorithm = *found;
        }
        if (!ids) {
            for (const auto& host : (*store)->list_hosts()) {
                input.hosts.push_back({host.id, host.name, host.zone});
            }
        }
    }
    if (ms_list->empty()) {
        return context.fail(
            kExitFailure,
            "no management servers to preview: `host` is not set in the store; give --host LIST "
            "or run `agentlbctl config set host LIST`");
    }
    const bool registered = !ids.has_value();
    if (ids) {
        for (std::int64_t id : *ids) {
            input.hosts.push_back({id, "", ""});
        }
        input.zone_when_empty.clear();
    }
    input.ms_list = *ms_list;
    input.algorithm = algorithm;
    const Preview preview = compute_preview(input);
    if (context.json()) {
        print_json(context.out(), preview_json(preview, registered, *ms_list, algorithm->name()));
    } else {
        context.out() << render_preview(preview, registered, algorithm->name());
    }
    return kExitOk;
}

OptionsPtr preview_options() {
    auto options = command_options();
    // clang-format off
    options->add_options()
        ("host", text_value("LIST"), "a proposed `host` value instead of the stored one")
        ("algorithm", text_value("NAME"), "a proposed algorithm (static, roundrobin, shuffle, hash) instead of the "
                                          "stored one")
        ("host-ids", text_value("IDS"), "hypothetical host ids (one zone) instead of the registered hosts")
        ("new-host", "also show the list a host enrolled next would get");
    // clang-format on
    return options;
}

}  // namespace

std::string render_preview(const Preview& preview, bool registered, std::string_view algorithm_name) {
    std::string out;
    const std::string indent = registered ? "  " : "";
    for (const PreviewZone& zone : preview.zones) {
        if (registered) {
            out += "zone " + display_text(zone.zone) + ":\n";
        }
        for (const PreviewEntry& entry : zone.hosts) {
            out += indent + std::to_string(entry.host.id);
            if (registered) {
                out += " " + display_text(entry.host.name);
            }
            out += ": " + display_text(lb::join_host_list(entry.list)) + "\n";
        }
        if (zone.new_host_list) {
            out += indent + "new: " + display_text(lb::join_host_list(*zone.new_host_list)) + "\n";
        }
    }
    out += "preferred:";
    for (const auto& [server, count] : preview.preferred) {
        out += " " + display_text(server) + "=" + std::to_string(count);
    }
    out += "\n";
    if (algorithm_name == "shuffle") {
        out += "note: shuffle orders each agent's list at random; these lists are one draw\n";
    }
    return out;
}

std::vector<Command> preview_commands() {
    return {
        {{"preview"},
         "[--host LIST] [--algorithm NAME] [--host-ids 1,5,10] [--new-host]",
         "show the list every host would get, and how many agents would prefer each server",
         "Changes nothing. With --host, --algorithm and --host-ids all given the store is not opened.",
         preview_options(),
         {},
         run_preview},
    };
}

}  // namespace agentlb::ctl
