#include "tools/agentlbctl/host_commands.hpp"

#include "common/lb/scoped_config.hpp"
#include "common/util/rfc3339.hpp"
#include "common/util/zone_name.hpp"
#include "tools/agentlbctl/time_format.hpp"

namespace agentlb::ctl {
namespace {

int run_host_list(Context& context, const CommandArgs&) {
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    const auto hosts = (*store)->list_hosts();
    if (context.json()) {
        Json list = Json::array();
        for (const auto& host : hosts) {
            list.push_back(host_json(host));
        }
        print_json(context.out(), list);
        return kExitOk;
    }
    Table table({"ID", "NAME", "ZONE", "CLUSTER", "CONNECTED TO", "LAST SEEN"});
    for (const auto& host : hosts) {
        table.add_row({std::to_string(host.id),
                       host.name,
                       host.zone,
                       host.cluster.empty() ? "-" : host.cluster,
                       host.connected_to.value_or("-"),
                       format_time_or_never(host.last_seen)});
    }
    context.out() << table.render();
    return kExitOk;
}

std::string cluster_text(const std::string& cluster) {
    return cluster.empty() ? "(none)" : display_text(cluster);
}

int run_host_set(Context& context, const CommandArgs& args) {
    const std::string& name = args.positionals.at(0);
    const auto zone = args.value("zone");
    const auto cluster = args.value("cluster");
    const bool no_cluster = args.has_flag("no-cluster");
    if (!zone && !cluster && !no_cluster) {
        return context.fail(kExitUsage, "nothing to change: give --zone, --cluster or --no-cluster");
    }
    if (cluster && no_cluster) {
        return context.fail(kExitUsage, "--cluster and --no-cluster contradict each other");
    }
    for (const auto& [option, value] : {std::pair{"--zone", zone}, {"--cluster", cluster}}) {
        if (value && value->empty()) {
            return context.fail(kExitUsage, std::string(option) + ": the value is empty");
        }
    }
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    const auto host = (*store)->find_host(name);
    if (!host) {
        return context.fail(kExitUsage, "no host named " + quote(name) + " is registered");
    }
    // A cluster belongs to its zone: a host moved to another zone leaves its
    // cluster unless one is given.
    lb::ConfigScope place{zone.value_or(host->zone), host->cluster};
    if (cluster) {
        place.cluster = *cluster;
    } else if (no_cluster || place.zone != host->zone) {
        place.cluster.clear();
    }
    if (auto valid = util::check_zone(place.zone); !valid) {
        return context.fail(kExitUsage, "--zone: " + valid.error());
    }
    if (!place.cluster.empty()) {
        if (auto valid = util::check_cluster(place.cluster); !valid) {
            return context.fail(kExitUsage, "--cluster: " + valid.error());
        }
    }
    auto before = (*store)->move_host(host->name, place);
    if (!before) {
        return context.fail(kExitUsage, before.error());
    }
    const auto after = (*store)->find_host(host->name);
    if (context.json()) {
        Json result = after ? host_json(*after) : Json(nullptr);
        result["previous"] =
            Json{{"zone", before->zone},
                 {"cluster", before->cluster.empty() ? Json(nullptr) : Json(before->cluster)}};
        print_json(context.out(), result);
        return kExitOk;
    }
    if (before->zone == place.zone && before->cluster == place.cluster) {
        context.out() << "host " << display_text(host->name) << " is already in zone "
                      << display_text(place.zone) << ", cluster " << cluster_text(place.cluster)
                      << "; nothing changed\n";
        return kExitOk;
    }
    context.out() << "host " << display_text(host->name) << ": zone " << display_text(before->zone) << " -> "
                  << display_text(place.zone) << ", cluster " << cluster_text(before->cluster) << " -> "
                  << cluster_text(place.cluster)
                  << "; the server holding it pushes its new list within a second\n";
    return kExitOk;
}

OptionsPtr host_set_options() {
    auto options = command_options();
    // clang-format off
    options->add_options()
        ("zone", text_value("ZONE"), "move the host to this zone (its cluster is dropped unless --cluster is given)")
        ("cluster", text_value("CLUSTER"), "put the host in this cluster of its (new) zone")
        ("no-cluster", "take the host out of its cluster");
    // clang-format on
    return options;
}

int run_host_remove(Context& context, const CommandArgs& args) {
    const std::string& name = args.positionals.at(0);
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    auto removed = (*store)->remove_host(name);
    if (!removed) {
        return context.fail(kExitUsage, removed.error());
    }
    if (context.json()) {
        print_json(context.out(), Json{{"name", name}, {"revoked_serials", *removed}});
        return kExitOk;
    }
    context.out() << "removed host " << display_text(name) << "; revoked " << removed->size()
                  << (removed->size() == 1 ? " certificate" : " certificates")
                  << "; its sessions close at the servers' next store poll\n";
    return kExitOk;
}

}  // namespace

Json host_json(const store::HostRecord& host) {
    return Json{
        {"id", host.id},
        {"name", host.name},
        {"zone", host.zone},
        {"cluster", host.cluster.empty() ? Json(nullptr) : Json(host.cluster)},
        {"connected_to", host.connected_to ? Json(*host.connected_to) : Json(nullptr)},
        {"last_seen", host.last_seen != 0 ? Json(util::format_rfc3339(host.last_seen)) : Json(nullptr)}};
}

std::vector<Command> host_commands() {
    return {
        {{"host", "list"},
         "",
         "show every registered host: id, name, zone, the server it is connected to, last seen",
         "",
         nullptr,
         {},
         run_host_list},
        {{"host", "set"},
         "NAME [--zone ZONE] [--cluster CLUSTER | --no-cluster]",
         "move a host to another zone or cluster",
         "Its values per zone and cluster follow it: the server holding it computes and pushes its new\n"
         "list within a second. An unknown name is refused (exit 2).",
         host_set_options(),
         {"NAME"},
         run_host_set},
        {{"host", "remove"},
         "NAME",
         "revoke every certificate of a host and remove it",
         "Its sessions close at the servers' next store poll and it cannot reconnect; enrolling it\n"
         "again needs a new token. An unknown name is refused (exit 2).",
         nullptr,
         {"NAME"},
         run_host_remove},
    };
}

}  // namespace agentlb::ctl
