#include "tools/agentlbctl/rebalance_command.hpp"

#include "common/lb/config_keys.hpp"
#include "common/lb/endpoint.hpp"
#include "common/lb/rebalance.hpp"
#include "common/util/clock.hpp"
#include "tools/agentlbctl/output.hpp"
#include "tools/agentlbctl/server_liveness.hpp"

#include <algorithm>
#include <map>

namespace agentlb::ctl {
namespace {

Json moves_json(const std::vector<PlannedMove>& moves) {
    Json array = Json::array();
    for (const auto& move : moves) {
        array.push_back(Json{{"id", move.id},
                             {"host", move.host},
                             {"from", move.from},
                             {"to", move.to},
                             {"address", move.address}});
    }
    return array;
}

int run_dry_run(Context& context, store::Store& store) {
    const auto config = store.list_config();
    auto settings = lb::settings_from_config(config);
    if (!settings) {
        return context.fail(kExitFailure, "the stored configuration is not valid: " + settings.error());
    }
    // The lists the servers send are computed with the weights (hash).
    auto weights = lb::weights_from_config(config, settings->hosts);
    if (!weights) {
        return context.fail(kExitFailure, "the stored configuration is not valid: " + weights.error());
    }
    auto algorithm = lb::find_algorithm(settings->algorithm);
    if (!algorithm) {
        return context.fail(kExitFailure, algorithm.error());
    }
    const auto hosts = store.list_hosts();
    const auto servers = store.list_servers();
    std::vector<PlannedMove> moves;
    if (!settings->hosts.empty()) {
        PreviewInput input;
        input.ms_list = settings->hosts;
        input.algorithm = *algorithm;
        input.weights = std::move(*weights);
        for (const auto& host : hosts) {
            input.hosts.push_back({host.id, host.name, host.zone});
        }
        moves = plan_rebalance(compute_preview(input), hosts, servers, util::unix_now());
    }
    if (context.json()) {
        print_json(context.out(), moves_json(moves));
        return kExitOk;
    }
    if (moves.empty()) {
        context.out() << "no agent would move: every connected agent is on the first up server of its list\n";
    } else {
        Table table({"HOST", "FROM", "TO"});
        for (const auto& move : moves) {
            table.add_row({move.host, move.from, move.to});
        }
        context.out() << table.render();
    }
    if ((*algorithm)->name() == "shuffle") {
        context.out()
            << "note: shuffle orders each agent's list at random; the servers use the lists their agents "
               "hold\n";
    }
    return kExitOk;
}

int run_rebalance(Context& context, const CommandArgs& args) {
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    if (args.has_flag("dry-run")) {
        return run_dry_run(context, **store);
    }
    auto id = (*store)->request_rebalance(std::nullopt, util::unix_now());
    if (!id) {
        return context.fail(kExitUsage, id.error());
    }
    if (context.json()) {
        print_json(context.out(), Json{{"rebalance", *id}});
        return kExitOk;
    }
    context.out() << "rebalance " << *id
                  << " requested: each server moves the agents that are not on the first up server of their "
                     "list, at agentlb.drain.rate\n";
    return kExitOk;
}

OptionsPtr rebalance_options() {
    auto options = command_options();
    options->add_options()("dry-run", "only show which agents would move where (HOST, FROM, TO)");
    return options;
}

}  // namespace

std::vector<PlannedMove> plan_rebalance(const Preview& preview,
                                        const std::vector<store::HostRecord>& hosts,
                                        const std::vector<store::ServerRecord>& servers,
                                        std::int64_t now) {
    std::vector<lb::ServerView> views;
    for (const auto& server : servers) {
        views.push_back({server.address, effective_state(server, now), server.maintenance});
    }
    std::map<std::int64_t, const std::vector<std::string>*> lists;
    for (const auto& zone : preview.zones) {
        for (const auto& entry : zone.hosts) {
            lists[entry.host.id] = &entry.list;
        }
    }
    std::vector<PlannedMove> moves;
    for (const auto& host : hosts) {
        const auto list = lists.find(host.id);
        if (!host.connected_to || list == lists.end()) {
            continue;
        }
        const auto from = std::find_if(servers.begin(), servers.end(), [&host](const store::ServerRecord& s) {
            return s.name == *host.connected_to;
        });
        // A server that is not up does not act on a rebalance (a drain moves its agents).
        if (from == servers.end() || !lb::entry_available(from->address, views)) {
            continue;
        }
        const auto destination = lb::rebalance_destination(*list->second, from->address, views);
        if (!destination) {
            continue;
        }
        const auto to =
            std::find_if(servers.begin(), servers.end(), [&destination](const store::ServerRecord& s) {
                return lb::same_endpoint(*destination, s.address);
            });
        moves.push_back(
            {host.id, host.name, from->name, to == servers.end() ? *destination : to->name, *destination});
    }
    std::sort(
        moves.begin(), moves.end(), [](const PlannedMove& a, const PlannedMove& b) { return a.id < b.id; });
    return moves;
}

std::vector<Command> rebalance_commands() {
    return {
        {{"rebalance"},
         "[--dry-run]",
         "move every agent that is not on the first up server of its list back to it",
         "Each server moves its own agents at agentlb.drain.rate, make-before-break. With --dry-run\n"
         "nothing changes: it prints HOST, FROM, TO for each agent that would move (--json: an array of\n"
         "{\"id\", \"host\", \"from\", \"to\", \"address\"}), with the lists `preview` computes.",
         rebalance_options(),
         {},
         run_rebalance},
    };
}

}  // namespace agentlb::ctl
