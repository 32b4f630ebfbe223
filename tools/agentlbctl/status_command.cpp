#include "tools/agentlbctl/status_command.hpp"

#include "certs/ca_chain.hpp"
#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "common/lb/certificate_settings.hpp"
#include "common/util/clock.hpp"
#include "tools/agentlbctl/config_commands.hpp"
#include "tools/agentlbctl/host_commands.hpp"
#include "tools/agentlbctl/mgmt_commands.hpp"
#include "tools/agentlbctl/output.hpp"
#include "tools/agentlbctl/server_liveness.hpp"
#include "tools/agentlbctl/status_watch.hpp"
#include "tools/agentlbctl/time_format.hpp"

#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unistd.h>

namespace agentlb::ctl {
namespace {

struct Snapshot {
    std::optional<std::pair<std::string, std::string>> ca;
    std::vector<store::ServerRecord> servers;
    std::vector<store::HostRecord> hosts;
    std::vector<ConfigValue> config;
    std::map<std::string, ServerLiveness> liveness;        // by server name
    std::map<std::string, std::int64_t> hosts_per_server;  // from the hosts' connected_to
    // Within ca.framework.cert.expiry.alert.period (what the servers warn about).
    std::chrono::seconds alert_period{0};
    std::vector<store::CertificateRecord> servers_expiring;  // in use, kind server
    std::int64_t agents_expiring = 0;
    std::int64_t ca_not_after = 0;  // 0: no CA, or it expires later than the period
};

Json expiring_json(const Snapshot& snapshot) {
    Json servers = Json::array();
    for (const auto& record : snapshot.servers_expiring) {
        servers.push_back(Json{{"name", record.host_name},
                               {"serial", record.serial},
                               {"not_after", format_time_or_never(record.not_after)}});
    }
    return Json{
        {"alert_period", lb::describe_duration(snapshot.alert_period)},
        {"servers", servers},
        {"agents", snapshot.agents_expiring},
        {"ca_not_after",
         snapshot.ca_not_after > 0 ? Json(format_time_or_never(snapshot.ca_not_after)) : Json(nullptr)}};
}

std::string expiring_text(const Snapshot& snapshot) {
    std::string out = "\ncertificates expiring within " + lb::describe_duration(snapshot.alert_period) +
                      " (ca.framework.cert.expiry.alert.period)\n";
    if (snapshot.alert_period.count() == 0) {
        return out + "(not checked: the period is 0)\n";
    }
    for (const auto& record : snapshot.servers_expiring) {
        out += "server " + display_text(record.host_name) + ": serial " + record.serial + ", expires " +
               format_time_or_never(record.not_after) + "\n";
    }
    if (snapshot.ca_not_after > 0) {
        out += "the CA: expires " + format_time_or_never(snapshot.ca_not_after) + "\n";
    }
    if (snapshot.agents_expiring > 0) {
        out += "agents: " + std::to_string(snapshot.agents_expiring) +
               " certificates (agentlbctl cert list --expiring DAYS)\n";
    }
    if (snapshot.servers_expiring.empty() && snapshot.ca_not_after == 0 && snapshot.agents_expiring == 0) {
        out += "(none)\n";
    }
    return out;
}

// The alert period as stored (its default when unset or unreadable), and
// what expires within it: servers' certificates in use, the CA, agents'.
void read_expiring(store::Store& store, Snapshot& snapshot, std::int64_t now) {
    for (const auto& value : snapshot.config) {
        if (value.name == lb::kExpiryAlertPeriodKey) {
            auto period = lb::parse_certificate_duration(value.value);
            snapshot.alert_period = period ? *period : lb::CertificateSettings{}.expiry_alert_period;
        }
    }
    if (snapshot.alert_period.count() == 0) {
        return;
    }
    const std::int64_t before = now + snapshot.alert_period.count();
    store::CertificateFilter filter;
    filter.expiring_before = before;
    filter.include_revoked = false;
    filter.include_superseded = false;
    for (auto& record : store.list_certificates(filter)) {
        if (record.kind == store::kCertificateServer) {
            snapshot.servers_expiring.push_back(std::move(record));
        }
    }
    snapshot.agents_expiring = store.count_certificates(store::kCertificateAgent, before, now);
    if (snapshot.ca) {
        if (auto ca = certs::parse_certificate_pem(snapshot.ca->first)) {
            const auto not_after = certs::not_after_of(ca->get());
            snapshot.ca_not_after = not_after <= before ? not_after : 0;
        }
    }
}

// Why a host counts as not connected anywhere; nothing when it is connected
// to a server that is up.
std::optional<std::string> disconnection(const Snapshot& snapshot, const store::HostRecord& host) {
    if (!host.connected_to) {
        return "not connected";
    }
    auto it = snapshot.liveness.find(*host.connected_to);
    if (it == snapshot.liveness.end()) {
        return "names unknown server " + *host.connected_to;
    }
    if (!it->second.alive) {
        return "its server " + *host.connected_to + " is down";
    }
    return std::nullopt;
}

Json status_json(const Context& context, const Snapshot& snapshot, std::int64_t now) {
    Json servers = Json::array();
    Json down = Json::array();
    for (const auto& server : snapshot.servers) {
        Json entry = server_json(server, now);
        auto count = snapshot.hosts_per_server.find(server.name);
        entry["connected_hosts"] = count == snapshot.hosts_per_server.end() ? 0 : count->second;
        servers.push_back(entry);
        const ServerLiveness& liveness = snapshot.liveness.at(server.name);
        if (!liveness.alive) {
            down.push_back(Json{{"name", server.name}, {"reason", liveness.reason}});
        }
    }
    Json config = Json::array();
    for (const auto& value : snapshot.config) {
        config.push_back(Json{{"name", value.name}, {"value", value.value}, {"default", value.is_default}});
    }
    Json not_connected = Json::array();
    std::int64_t connected = 0;
    for (const auto& host : snapshot.hosts) {
        if (auto reason = disconnection(snapshot, host)) {
            Json entry = host_json(host);
            entry["reason"] = *reason;
            not_connected.push_back(entry);
        } else {
            ++connected;
        }
    }
    return Json{{"store", context.db().shown()},
                {"ca_fingerprint", snapshot.ca ? Json(snapshot.ca->second) : Json(nullptr)},
                {"servers", servers},
                {"config", config},
                {"hosts", Json{{"registered", snapshot.hosts.size()}, {"connected", connected}}},
                {"not_connected", not_connected},
                {"servers_down", down},
                {"certificates_expiring", expiring_json(snapshot)}};
}

std::string status_text(const Context& context, const Snapshot& snapshot) {
    std::string out = "store " + display_text(context.db().shown()) + "\n";
    out +=
        "ca_fingerprint " + (snapshot.ca ? snapshot.ca->second : "(none: run `agentlbctl ca init`)") + "\n";

    out += "\nservers\n";
    Table servers({"NAME", "ADDRESS", "STATE", "LAST HEARTBEAT", "AGENTS", "HOSTS CONNECTED"});
    std::vector<std::string> down;
    for (const auto& server : snapshot.servers) {
        auto count = snapshot.hosts_per_server.find(server.name);
        const ServerLiveness& liveness = snapshot.liveness.at(server.name);
        servers.add_row({server.name,
                         server.address,
                         liveness.state,
                         format_time_or_never(server.last_heartbeat),
                         std::to_string(server.agents),
                         std::to_string(count == snapshot.hosts_per_server.end() ? 0 : count->second)});
        if (!liveness.alive) {
            down.push_back(display_text(server.name) + ": " + liveness.reason);
        }
    }
    out += servers.rows() == 0 ? "(none registered)\n" : servers.render();

    out += "\nconfiguration\n";
    Table config({"KEY", "VALUE"});
    for (const auto& value : snapshot.config) {
        config.add_row({value.name, describe_value(value)});
    }
    out += config.render();

    Table missing({"ID", "NAME", "ZONE", "LAST SEEN", "WHY"});
    for (const auto& host : snapshot.hosts) {
        if (auto reason = disconnection(snapshot, host)) {
            missing.add_row({std::to_string(host.id),
                             host.name,
                             host.zone,
                             format_time_or_never(host.last_seen),
                             *reason});
        }
    }
    out += "\nhosts: " + std::to_string(snapshot.hosts.size()) + " registered, " +
           std::to_string(snapshot.hosts.size() - missing.rows()) + " connected\n";
    if (missing.rows() > 0) {
        out += "\nhosts not connected anywhere\n" + missing.render();
    }

    out += "\nservers down or stale\n";
    if (down.empty()) {
        out += "(none)\n";
    }
    for (const auto& line : down) {
        out += line + "\n";
    }
    out += expiring_text(snapshot);
    return out;
}

Snapshot read_snapshot(store::Store& store, std::int64_t now) {
    Snapshot snapshot;
    snapshot.ca = store.ca_certificate();
    // The fingerprint agents pin, as `ca show` prints it: an imported CA's root.
    if (const std::string chain = store.ca_chain(); snapshot.ca && !chain.empty()) {
        if (auto root = certs::root_fingerprint_of_chain(chain)) {
            snapshot.ca->second = std::move(root).value();
        }
    }
    snapshot.servers = store.list_servers();
    snapshot.hosts = store.list_hosts();
    snapshot.config = effective_config(store.list_config());
    for (const auto& server : snapshot.servers) {
        snapshot.liveness.emplace(server.name, judge_server(server, now));
    }
    for (const auto& host : snapshot.hosts) {
        if (host.connected_to) {
            ++snapshot.hosts_per_server[*host.connected_to];
        }
    }
    read_expiring(store, snapshot, now);
    return snapshot;
}

// Clear the screen before each redraw only on a terminal: piped into a file
// or a program, every redraw follows the last one.
bool out_is_terminal(const Context& context) {
    return context.out().rdbuf() == std::cout.rdbuf() && isatty(STDOUT_FILENO) == 1;
}

constexpr std::string_view kClearScreen = "\x1b[H\x1b[2J";

// One redraw: in JSON one compact object per line (JSON Lines, with the
// time it was read as "time"), else a header line and the status text. A
// store failure is reported on stderr and the store opened again next time,
// so a PostgreSQL failover or a locked SQLite file does not end the watch.
void draw_watched(Context& context, std::unique_ptr<store::Store>& store, bool clear_screen) {
    const std::int64_t now = util::unix_now();
    try {
        if (!store) {
            auto opened = context.open_store(StoreAccess::existing_only);
            if (!opened) {
                context.fail(kExitFailure, opened.error());
                return;
            }
            store = std::move(opened).value();
        }
        const Snapshot snapshot = read_snapshot(*store, now);
        if (context.json()) {
            Json frame = Json{{"time", format_time_or_never(now)}};
            frame.update(status_json(context, snapshot, now));
            context.out() << frame.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
        } else {
            context.out() << (clear_screen ? kClearScreen : "") << "agentlbctl status --watch, every 1 s, "
                          << format_time_or_never(now) << " (Ctrl-C stops)\n\n"
                          << status_text(context, snapshot);
        }
    } catch (const std::exception& e) {
        store.reset();
        context.fail(kExitFailure, std::string(e.what()) + "; trying again in 1 s");
    }
    context.out() << std::flush;
}

int run_status(Context& context, const CommandArgs& args) {
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    if (args.has_flag("watch")) {
        std::unique_ptr<store::Store> watched = std::move(store).value();
        const bool clear_screen = !context.json() && out_is_terminal(context);
        watch_until_stopped(std::chrono::seconds(1), [&context, &watched, clear_screen] {
            draw_watched(context, watched, clear_screen);
        });
        return kExitOk;
    }
    const std::int64_t now = util::unix_now();
    const Snapshot snapshot = read_snapshot(**store, now);
    if (context.json()) {
        print_json(context.out(), status_json(context, snapshot, now));
    } else {
        context.out() << status_text(context, snapshot);
    }
    return kExitOk;
}

OptionsPtr status_options() {
    auto options = command_options();
    options->add_options()("watch",
                           "redraw every second until interrupted (Ctrl-C, SIGTERM), then exit 0; with "
                           "--json, one JSON object per line and redraw");
    return options;
}

}  // namespace

std::vector<Command> status_commands() {
    return {
        {{"status"},
         "[--watch]",
         "one screen: servers and their agents, the configuration, hosts not connected, servers down, "
         "certificates expiring",
         "",
         status_options(),
         {},
         run_status},
    };
}

}  // namespace agentlb::ctl
