#include "common/store/server_rules.hpp"

#include "common/util/text.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace agentlb::store {

namespace {

using util::quoted;

const ServerRecord* find(const std::vector<ServerRecord>& servers, std::string_view name) {
    auto it = std::find_if(
        servers.begin(), servers.end(), [&](const ServerRecord& server) { return server.name == name; });
    return it == servers.end() ? nullptr : &*it;
}

// "ms2: preparing", "ms3: up, maintenance requested", "ms4: up, no heartbeat for 45 s".
std::string describe(const ServerRecord& server, std::int64_t now, std::int64_t stale_after) {
    std::string text = quoted(server.name) + ": " + server.state;
    if (server.maintenance) {
        text += ", maintenance requested";
    } else if (server.state == kServerUp && server.last_heartbeat < now - stale_after) {
        text += ", but no heartbeat for " + std::to_string(now - server.last_heartbeat) + " s";
    }
    return text;
}

}  // namespace

bool is_server_state(std::string_view state) {
    return state == kServerUp || state == kServerPreparing || state == kServerMaintenance ||
           state == kServerDown;
}

void require_server_state(std::string_view state, std::string_view call) {
    if (!is_server_state(state)) {
        throw std::invalid_argument(std::string(call) + ": unknown state \"" + std::string(state) + "\"");
    }
}

void require_state_transition(std::string_view expected, std::string_view next) {
    require_server_state(expected, "compare_and_set_server_state");
    require_server_state(next, "compare_and_set_server_state");
    if (expected == next) {
        throw std::invalid_argument("compare_and_set_server_state: expected and next are both \"" +
                                    std::string(next) + "\"");
    }
}

Failure unknown_server(std::string_view name) {
    return fail("no management server named " + quoted(name) + " is registered");
}

Result<MaintenanceChange> decide_begin_maintenance(const std::vector<ServerRecord>& servers,
                                                   std::string_view name,
                                                   std::int64_t now,
                                                   std::int64_t stale_after) {
    const ServerRecord* server = find(servers, name);
    if (server == nullptr) {
        return unknown_server(name);
    }
    if (server->maintenance) {
        return MaintenanceChange{true, server->state};
    }
    std::string others;
    for (const ServerRecord& other : servers) {
        if (other.name == name) {
            continue;
        }
        // A crashed server's row still reads up until a peer marks it down.
        if (other.state == kServerUp && !other.maintenance && other.last_heartbeat >= now - stale_after) {
            const std::string state(server->state == kServerUp ? kServerPreparing : server->state);
            return MaintenanceChange{false, state};
        }
        others += (others.empty() ? "" : "; ") + describe(other, now, stale_after);
    }
    return fail("management server " + quoted(name) +
                " cannot go into maintenance: it would leave no management server up (" +
                (others.empty() ? std::string("it is the only one") : "others: " + others) + ")");
}

Result<MaintenanceChange> decide_end_maintenance(const std::vector<ServerRecord>& servers,
                                                 std::string_view name) {
    const ServerRecord* server = find(servers, name);
    if (server == nullptr) {
        return unknown_server(name);
    }
    if (!server->maintenance) {
        return MaintenanceChange{true, server->state};
    }
    const std::string state(server->state == kServerDown ? kServerDown : kServerUp);
    return MaintenanceChange{false, state};
}

}  // namespace agentlb::store
