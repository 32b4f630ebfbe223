#include "tools/agentlbctl/mgmt_commands.hpp"

#include "common/lb/config_keys.hpp"
#include "common/util/clock.hpp"
#include "common/util/rfc3339.hpp"
#include "tools/agentlbctl/server_liveness.hpp"
#include "tools/agentlbctl/time_format.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <thread>

namespace agentlb::ctl {
namespace {

// How often `mgmt maintenance --wait` reads the server's state.
constexpr std::chrono::milliseconds kWaitPoll{500};
// --wait's default limit is agentlb.maintenance.timeout plus this: the
// server ends what is left at its timeout, then reports maintenance.
constexpr std::int64_t kWaitMarginSeconds = 30;
constexpr std::int64_t kMaxWaitSeconds = 7 * 24 * 3600;

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
    Table table({"NAME", "ADDRESS", "STATE", "MAINTENANCE", "LAST HEARTBEAT", "AGENTS"});
    for (const auto& server : servers) {
        table.add_row({server.name,
                       server.address,
                       effective_state(server, now),
                       server.maintenance ? "requested" : "-",
                       format_time_or_never(server.last_heartbeat),
                       std::to_string(server.agents)});
    }
    context.out() << table.render();
    return kExitOk;
}

std::optional<store::ServerRecord> find_server(store::Store& store, std::string_view name) {
    for (auto& server : store.list_servers()) {
        if (server.name == name) {
            return server;
        }
    }
    return std::nullopt;
}

// --wait's limit in seconds; nothing: no limit.
Result<std::optional<std::int64_t>> wait_limit(const CommandArgs& args, store::Store& store) {
    if (auto text = args.value("timeout")) {
        auto seconds = parse_positive_integer("--timeout", *text, kMaxWaitSeconds);
        if (!seconds) {
            return fail(seconds.error());
        }
        return std::optional<std::int64_t>(*seconds);
    }
    auto timeout = lb::server_key_from_config(store.list_config(), lb::kMaintenanceTimeout);
    if (!timeout || *timeout == 0) {
        return std::optional<std::int64_t>();
    }
    return std::optional<std::int64_t>(*timeout + kWaitMarginSeconds);
}

// Polls until the server is in maintenance or down. Exit 1 when the limit
// passes, the request is cancelled meanwhile or the row goes away.
int wait_for_maintenance(Context& context,
                         store::Store& store,
                         const std::string& name,
                         std::optional<std::int64_t> limit,
                         Json& result) {
    const auto started = std::chrono::steady_clock::now();
    while (true) {
        const auto server = find_server(store, name);
        if (!server) {
            return context.fail(kExitFailure,
                                "management server " + display_text(name) + " was removed while waiting");
        }
        const auto state = effective_state(*server, util::unix_now());
        result["state"] = state;
        if (state == store::kServerMaintenance || state == store::kServerDown) {
            const auto waited =
                std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
            if (!context.json()) {
                // "is in maintenance", "is down"
                const std::string reached = state == store::kServerMaintenance ? "in maintenance" : state;
                context.out() << "management server " << display_text(name) << " is " << reached << " after "
                              << waited.count() << " s\n";
            }
            return kExitOk;
        }
        if (!server->maintenance) {
            return context.fail(kExitFailure,
                                "the maintenance of management server " + display_text(name) +
                                    " was cancelled while waiting (it is " + state + ")");
        }
        if (limit && std::chrono::steady_clock::now() - started >= std::chrono::seconds(*limit)) {
            return context.fail(kExitFailure,
                                "management server " + display_text(name) + " is still " + state + " with " +
                                    std::to_string(server->agents) + " agents after " +
                                    std::to_string(*limit) +
                                    " s; it keeps draining (see `agentlbctl mgmt list`)");
        }
        std::this_thread::sleep_for(kWaitPoll);
    }
}

int run_mgmt_maintenance(Context& context, const CommandArgs& args) {
    const std::string& name = args.positionals.at(0);
    const bool wait = args.has_flag("wait");
    if (args.value("timeout") && !wait) {
        return context.fail(kExitUsage, "--timeout applies only with --wait");
    }
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    std::optional<std::int64_t> limit;
    if (wait) {
        auto parsed = wait_limit(args, **store);
        if (!parsed) {
            return context.fail(kExitUsage, parsed.error());
        }
        limit = *parsed;
    }
    auto change = (*store)->begin_maintenance(name, util::unix_now(), kServerStaleAfterSeconds);
    if (!change) {
        return context.fail(kExitUsage, change.error());
    }
    Json result{{"name", name}, {"already", change->already}, {"state", change->state}};
    if (!context.json()) {
        if (change->already) {
            context.out() << "management server " << display_text(name)
                          << " is already in maintenance (state " << change->state << ")\n";
        } else if (change->state == store::kServerPreparing) {
            context.out() << "management server " << display_text(name)
                          << " is preparing for maintenance: it takes no new agents and moves its agents to "
                             "the next servers of their lists\n";
        } else {
            context.out() << "maintenance requested for management server " << display_text(name)
                          << " (it is " << change->state
                          << "): it takes no agents until `agentlbctl mgmt cancel-maintenance`\n";
        }
    }
    int code = kExitOk;
    if (wait) {
        code = wait_for_maintenance(context, **store, name, limit, result);
    }
    if (context.json() && code == kExitOk) {
        print_json(context.out(), result);
    }
    return code;
}

int run_mgmt_cancel_maintenance(Context& context, const CommandArgs& args) {
    const std::string& name = args.positionals.at(0);
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    auto change = (*store)->end_maintenance(name);
    if (!change) {
        return context.fail(kExitUsage, change.error());
    }
    // Recorded after the state changed: a server acts on a request once its
    // snapshot is at least this new, so it sees the server up again.
    std::optional<std::int64_t> rebalance;
    if (args.has_flag("rebalance")) {
        auto id = (*store)->request_rebalance(name, util::unix_now());
        if (!id) {
            return context.fail(kExitUsage, id.error());
        }
        rebalance = *id;
    }
    if (context.json()) {
        print_json(context.out(),
                   Json{{"name", name},
                        {"already", change->already},
                        {"state", change->state},
                        {"rebalance", rebalance ? Json(*rebalance) : Json(nullptr)}});
        return kExitOk;
    }
    if (change->already) {
        context.out() << "management server " << display_text(name) << " is not in maintenance (state "
                      << change->state << ")\n";
    } else {
        context.out() << "management server " << display_text(name) << " is out of maintenance (state "
                      << change->state << "); it takes agents again\n";
    }
    if (rebalance) {
        context.out() << "rebalance " << *rebalance << " requested: agents whose list puts "
                      << display_text(name)
                      << " ahead of their server move back to it, at agentlb.drain.rate per server\n";
    }
    return kExitOk;
}

OptionsPtr maintenance_options() {
    auto options = command_options();
    // clang-format off
    options->add_options()
        ("wait", "wait until the server is in maintenance (or down)")
        ("timeout", text_value("SECONDS"), "with --wait: give up after this long (exit 1; the drain goes on); "
                                           "default agentlb.maintenance.timeout + 30 s");
    // clang-format on
    return options;
}

OptionsPtr cancel_options() {
    auto options = command_options();
    options->add_options()("rebalance",
                           "also move back the agents whose list puts this server ahead of theirs");
    return options;
}

}  // namespace

Json server_json(const store::ServerRecord& server, std::int64_t now) {
    return Json{
        {"name", server.name},
        {"address", server.address},
        {"state", effective_state(server, now)},
        {"maintenance", server.maintenance},
        {"last_heartbeat",
         server.last_heartbeat != 0 ? Json(util::format_rfc3339(server.last_heartbeat)) : Json(nullptr)},
        {"agents", server.agents}};
}

std::vector<Command> mgmt_commands() {
    return {
        {{"mgmt", "list"},
         "",
         "show every management server: address, state, maintenance, last heartbeat, agents",
         "STATE is up, preparing (draining for maintenance or shutdown), maintenance (drained) or down.\n"
         "A server counts as down when its row says so or its heartbeat is older than " +
             std::to_string(kServerStaleAfterSeconds) + " s\n(" + std::to_string(kMissedServerHeartbeats) +
             " missed heartbeats of " + std::to_string(kServerHeartbeatIntervalSeconds) +
             " s). MAINTENANCE says whether an operator asked for it.",
         nullptr,
         {},
         run_mgmt_list},
        {{"mgmt", "maintenance"},
         "NAME [--wait] [--timeout SECONDS]",
         "stop a server taking agents and move its agents to their next servers",
         "The server drains at agentlb.drain.rate and reaches maintenance when it holds no agent, or\n"
         "after agentlb.maintenance.timeout. Refused (exit 2) for an unknown name, or when no other\n"
         "server would be left up. Asking again is not an error (exit 0). --wait exits 1 on timeout.",
         maintenance_options(),
         {"NAME"},
         run_mgmt_maintenance},
        {{"mgmt", "cancel-maintenance"},
         "NAME [--rebalance]",
         "let a server take agents again (and, with --rebalance, move back the agents that prefer it)",
         "Refused (exit 2) for an unknown name. A server not in maintenance is not an error (exit 0).",
         cancel_options(),
         {"NAME"},
         run_mgmt_cancel_maintenance},
    };
}

}  // namespace agentlb::ctl
