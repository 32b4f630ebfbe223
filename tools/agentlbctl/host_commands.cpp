#include "tools/agentlbctl/host_commands.hpp"

#include "common/util/rfc3339.hpp"
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
    Table table({"ID", "NAME", "ZONE", "CONNECTED TO", "LAST SEEN"});
    for (const auto& host : hosts) {
        table.add_row({std::to_string(host.id),
                       host.name,
                       host.zone,
                       host.connected_to.value_or("-"),
                       format_time_or_never(host.last_seen)});
    }
    context.out() << table.render();
    return kExitOk;
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
