#include "tools/agentlbctl/preview_command.hpp"

#include "common/lb/config_keys.hpp"
#include "common/lb/endpoint.hpp"
#include "common/lb/host_list.hpp"
#include "tools/agentlbctl/output.hpp"

#include <algorithm>
#include <cstdio>
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

Json counts_json(const ServerCounts& counts) {
    Json out = Json::object();
    for (const auto& [server, count] : counts) {
        out[server] = count;
    }
    return out;
}

Json weights_json(const std::vector<std::string>& ms_list, const lb::Weights& weights) {
    Json out = Json::object();
    for (const auto& server : ms_list) {
        out[server] = lb::weight_of(weights, server);
    }
    return out;
}

// Three decimals: enough to tell 1.05 from 1.049, short enough to read.
std::string ratio_text(double ratio) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", ratio);
    return text;
}

std::string counts_text(const ServerCounts& counts) {
    std::string out;
    for (const auto& [server, count] : counts) {
        out += (out.empty() ? "" : " ") + display_text(server) + "=" + std::to_string(count);
    }
    return out;
}

Json summary_json(const ShownConfig& shown) {
    return Json{{"algorithm", shown.algorithm->name()},
                {"host", list_json(shown.ms_list)},
                {"weights", weights_json(shown.ms_list, shown.weights)},
                {"preferred", counts_json(shown.preview.preferred)},
                {"imbalance", shown.imbalance()}};
}

Json down_json(const DownPreview& down) {
    return Json{{"server", down.server},
                {"agents", down.agents},
                {"moved_to", counts_json(down.moved_to)},
                {"moved_imbalance", down.moved_imbalance},
                {"load", counts_json(down.load)},
                {"load_imbalance", down.load_imbalance}};
}

std::int64_t host_count(const Preview& preview) {
    std::int64_t count = 0;
    for (const PreviewZone& zone : preview.zones) {
        count += static_cast<std::int64_t>(zone.hosts.size());
    }
    return count;
}

Json preview_json(const PreviewReport& report) {
    const Preview& preview = report.shown.preview;
    auto optional_text = [&report](const std::string& text) {
        return report.registered ? Json(text) : Json(nullptr);
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
    // The order of the keys: what is shown, the lists, then the measures.
    const Json summary = summary_json(report.shown);
    Json out{{"algorithm", summary["algorithm"]}, {"host", summary["host"]}, {"weights", summary["weights"]}};
    if (!report.summary_only) {
        out["hosts"] = hosts;
    }
    if (!new_hosts.empty()) {
        out["new_host"] = new_hosts;
    }
    out["preferred"] = summary["preferred"];
    out["imbalance"] = summary["imbalance"];
    if (report.current) {
        out["current"] = summary_json(*report.current);
        out["current"]["first_changed"] = first_changes(report.current->preview, preview);
    }
    if (report.down) {
        out["down"] = down_json(*report.down);
    }
    if (!report.places_not_applied.empty()) {
        Json places = Json::array();
        for (const auto& place : report.places_not_applied) {
            places.push_back(Json{{"zone", place.zone},
                                  {"cluster", place.cluster.empty() ? Json(nullptr) : Json(place.cluster)}});
        }
        out["places_not_applied"] = places;
    }
    return out;
}

int run_preview(Context& context, const CommandArgs& args) {
    const auto host_option = args.value("host");
    const auto algorithm_option = args.value("algorithm");
    const auto ids_option = args.value("host-ids");
    const auto weights_option = args.value("weights");
    const auto down_option = args.value("down");

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
    PreviewReport report;
    report.summary_only = args.has_flag("summary");
    std::optional<lb::Weights> weights;
    // Everything proposed on the command line: the store is never opened, so
    // a preview works on any machine (weights are then --weights or all 1).
    if (!ms_list || algorithm == nullptr || !ids) {
        auto store = context.open_store(StoreAccess::existing_only);
        if (!store) {
            return context.fail(kExitFailure, store.error());
        }
        const auto config = (*store)->list_config();
        auto settings = lb::settings_from_config(config);
        if (!settings) {
            return context.fail(kExitFailure, "the stored configuration is not valid: " + settings.error());
        }
        auto stored_algorithm = lb::find_algorithm(settings->algorithm);
        if (!stored_algorithm) {
            return context.fail(kExitFailure, stored_algorithm.error());
        }
        auto stored_weights = lb::weights_from_config(config, settings->hosts);
        if (!stored_weights) {
            return context.fail(kExitFailure,
                                "the stored configuration is not valid: " + stored_weights.error());
        }
        if ((host_option || algorithm_option || weights_option) && !settings->hosts.empty()) {
            report.current = ShownConfig{settings->hosts, *stored_algorithm, *stored_weights, {}};
        }
        if (!ms_list) {
            ms_list = settings->hosts;
        }
        if (algorithm == nullptr) {
            algorithm = *stored_algorithm;
        }
        if (!weights_option) {
            // The stored weights must still name entries of a proposed --host.
            const auto stored_text = config.find(std::string(lb::kWeightsKey));
            auto fitting =
                lb::parse_weights(stored_text == config.end() ? "" : stored_text->second, *ms_list);
            if (!fitting) {
                return context.fail(kExitUsage,
                                    "--host: the stored " + std::string(lb::kWeightsKey) +
                                        " does not fit it: " + fitting.error() + "; give --weights too");
            }
            weights = std::move(*fitting);
        }
        for (const auto& [scope, values] : (*store)->scoped_config().overrides) {
            if (values.count(std::string(lb::kHostKey)) != 0 ||
                values.count(std::string(lb::kAlgorithmKey)) != 0 ||
                values.count(std::string(lb::kWeightsKey)) != 0) {
                report.places_not_applied.push_back(scope);
            }
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
    if (weights_option) {
        auto parsed = lb::parse_weights(*weights_option, *ms_list);
        if (!parsed) {
            return context.fail(kExitUsage, "--weights: " + parsed.error());
        }
        weights = std::move(*parsed);
    }
    std::optional<std::string> down_server;
    if (down_option) {
        const auto it = std::find_if(ms_list->begin(), ms_list->end(), [&](const std::string& entry) {
            return entry == *down_option || lb::same_endpoint(entry, *down_option);
        });
        if (it == ms_list->end()) {
            return context.fail(kExitUsage,
                                "--down: " + quote(*down_option) + " is not in the host list (" +
                                    display_text(lb::join_host_list(*ms_list)) + ")");
        }
        down_server = *it;
    }
    report.registered = !ids.has_value();
    if (ids) {
        for (std::int64_t id : *ids) {
            input.hosts.push_back({id, "", ""});
        }
        input.zone_when_empty.clear();
    }
    input.ms_list = *ms_list;
    input.algorithm = algorithm;
    input.weights = weights.value_or(lb::Weights{});
    report.shown = ShownConfig{*ms_list, algorithm, input.weights, compute_preview(input)};
    if (report.current) {
        PreviewInput stored = input;
        stored.ms_list = report.current->ms_list;
        stored.algorithm = report.current->algorithm;
        stored.weights = report.current->weights;
        stored.new_host = false;
        report.current->preview = compute_preview(stored);
    }
    if (down_server) {
        report.down = preview_down(
            report.shown.preview, *ms_list, *down_server, input.weights, algorithm->uses_weights());
    }
    if (context.json()) {
        print_json(context.out(), preview_json(report));
    } else {
        context.out() << render_report(report);
    }
    return kExitOk;
}

OptionsPtr preview_options() {
    auto options = command_options();
    // clang-format off
    options->add_options()
        ("host", text_value("LIST"), "a proposed `host` value instead of the stored one")
        ("algorithm", text_value("NAME"), "a proposed algorithm (static, roundrobin, shuffle, hash) instead "
                                          "of the stored one")
        ("weights", text_value("LIST"), "proposed agentlb.server.weights (ADDRESS=WEIGHT,...) instead of the "
                                        "stored ones")
        ("host-ids", text_value("IDS"), "hypothetical host ids (one zone) instead of the registered hosts: "
                                        "1,5,10 or ranges 1-10000")
        ("down", text_value("SERVER"), "also show where the agents that have SERVER (a `host` entry) first "
                                       "would go if it were down")
        ("summary", "counts and imbalance only, not every host's list")
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

std::string render_report(const PreviewReport& report) {
    const ShownConfig& shown = report.shown;
    std::string out;
    if (report.summary_only) {
        out += "preferred: " + counts_text(shown.preview.preferred) + "\n";
    } else {
        out += render_preview(shown.preview, report.registered, shown.algorithm->name());
    }
    out += "imbalance: " + ratio_text(shown.imbalance()) + " (most first places over a fair share";
    out += shown.algorithm->uses_weights() ? " by weight" : "";
    out += "; 1 = even)\n";
    if (report.current) {
        const ShownConfig& current = *report.current;
        out += "current: " + std::string(current.algorithm->name()) + ", host " +
               display_text(lb::join_host_list(current.ms_list));
        if (!current.weights.empty()) {
            out += ", weights " + display_text(lb::format_weights(current.weights));
        }
        out += ": preferred: " + counts_text(current.preview.preferred) +
               "; imbalance: " + ratio_text(current.imbalance()) + "\n";
        out += "first server changes for " + std::to_string(first_changes(current.preview, shown.preview)) +
               " of " + std::to_string(host_count(shown.preview)) + " hosts\n";
    }
    if (report.down) {
        const DownPreview& down = *report.down;
        out += "down " + display_text(down.server) + ": " + std::to_string(down.agents) +
               " agents move: " + counts_text(down.moved_to) + " (imbalance " +
               ratio_text(down.moved_imbalance) + "); first places after: " + counts_text(down.load) +
               " (imbalance " + ratio_text(down.load_imbalance) + ")\n";
    }
    if (!report.places_not_applied.empty()) {
        std::string places;
        for (const auto& place : report.places_not_applied) {
            places += (places.empty() ? "" : ", ") + lb::describe_scope(place);
        }
        out += "note: " + places +
               " set their own host, algorithm or weights; this preview applies the global values to "
               "every host (`agentlbctl config list --effective --host NAME` shows a host's own)\n";
    }
    return out;
}

double ShownConfig::imbalance() const {
    return ctl::imbalance(preview.preferred, weights, algorithm->uses_weights());
}

std::vector<Command> preview_commands() {
    return {
        {{"preview"},
         "[--host LIST] [--algorithm NAME] [--weights LIST] [--host-ids 1,5,10|1-10000] [--down SERVER] "
         "[--summary] [--new-host]",
         "show the list every host would get, and how many agents would prefer each server",
         "Changes nothing. With --host, --algorithm and --host-ids all given the store is not opened (the\n"
         "weights are then --weights, or 1 each). With the store, a proposal (--host, --algorithm or\n"
         "--weights) is also compared with the stored configuration (\"current\").",
         preview_options(),
         {},
         run_preview},
    };
}

}  // namespace agentlb::ctl
