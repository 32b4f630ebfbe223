#include "tools/agentlbctl/mgmt_commands.hpp"

#include "common/util/clock.hpp"
#include "common/util/rfc3339.hpp"
#include "tools/agentlbctl/server_liveness.hpp"
#include "tools/agentlbctl/time_format.hpp"

namespace agentlb::ctl {
namespace {

int run_mgmt_list(Context& context, const CommandArgs&) {
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    const auto servers = (*store)->list_servers();
    const std::int64_t now = util::unix_now();
    if (context.json()) {
        Json list = Json::array();
        for (const auto& server : servers) {
            list.push_back(server_json(server, now));
        }
        print_json(context.out(), list);
        return kExitOk;
    }
    Table table({"NAME", "ADDRESS", "STATE", "LAST HEARTBEAT", "AGENTS"});
    for (const auto& server : servers) {
        table.add_row({server.name,
                       server.address,
                       effective_state(server, now),
                       format_time_or_never(server.last_heartbeat),
                       std::to_string(server.agents)});
    }
    context.out() << table.render();
    return kExitOk;
}

}  // namespace

Json server_json(const store::ServerRecord& server, std::int64_t now) {
    return Json{
        {"name", server.name},
        {"address", server.address},
        {"state", effective_state(server, now)},
        {"last_heartbeat",
         server.last_heartbeat != 0 ? Json(util::format_rfc3339(server.last_heartbeat)) : Json(nullptr)},
        {"agents", server.agents}};
}

std::vector<Command> mgmt_commands() {
    return {
        {{"mgmt", "list"},
         "",
         "show every management server: address, state, last heartbeat, agents",
         "A server counts as down when its row says so or its heartbeat is older than " +
             std::to_string(kServerStaleAfterSeconds) + " s\n(" + std::to_string(kMissedServerHeartbeats) +
             " missed heartbeats of " + std::to_string(kServerHeartbeatIntervalSeconds) + " s).",
         nullptr,
         {},
         run_mgmt_list},
    };
}

}  // namespace agentlb::ctl
