#pragma once

// What the multi-machine tests look at: where each agent is connected (by
// every server's /v1/status), what it holds (its own properties file), and
// whether the servers agree with the store.

#include "tests/e2e/machine_room.hpp"
#include "tests/support/netns.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace agentlb::test {

// True (and reported as a skip) when this machine cannot make namespaces.
inline bool cannot_run(const std::string& what) {
    const auto why = netns_unavailable();
    if (why.empty()) {
        return false;
    }
    report_skipped(what, why);
    return true;
}

inline bool ends_with(const std::string& text, const std::string& end) {
    return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

// Agent name -> (server, connected_since) over `servers`; an agent listed
// twice keeps both (make-before-break), which every_agent_once rejects.
inline std::map<std::string, std::set<std::string>> sessions(const MachineRoom& room,
                                                             const std::vector<int>& servers) {
    std::map<std::string, std::set<std::string>> out;
    for (const int i : servers) {
        const auto status = room.status(i);
        if (!status.is_object()) {
            continue;
        }
        for (const auto& agent : status["agents"]) {
            out[agent.value("name", "")].insert(MachineRoom::server_name(i) + " since " +
                                                agent.value("connected_since", ""));
        }
    }
    return out;
}

inline bool every_agent_once(const MachineRoom& room, const std::vector<int>& servers) {
    const auto where = room.placement(servers);
    if (static_cast<int>(where.size()) != room.agent_count()) {
        return false;
    }
    for (const auto& [name, on] : where) {
        if (on.size() != 1) {
            return false;
        }
    }
    return true;
}

// The store records each agent placed on `servers` on the server that holds it.
inline bool store_agrees(MachineRoom& room, const std::vector<int>& servers) {
    for (const auto& [name, on] : room.placement(servers)) {
        const auto host = room.store().find_host(name);
        if (on.size() != 1 || !host || host->connected_to != std::optional<std::string>(*on.begin())) {
            return false;
        }
    }
    return true;
}

inline std::string describe(const std::map<std::string, std::set<std::string>>& where) {
    std::string out;
    for (const auto& [name, on] : where) {
        out += name + "@";
        for (const auto& s : on) {
            out += s + "/";
        }
        out += " ";
    }
    return out;
}

inline RoomOptions on_postgresql(std::map<std::string, std::string> config = {}) {
    RoomOptions options;
    options.store = RoomStore::postgresql;
    options.config = std::move(config);
    return options;
}

inline std::optional<bool> serving(const MachineRoom& room, int server) {
    const auto status = room.status(server);
    if (!status.is_object() || !status["server"].contains("serving")) {
        return std::nullopt;
    }
    return status["server"]["serving"].get<bool>();
}

// Every server answers with the store's generation.
inline bool in_sync(MachineRoom& room) {
    const auto generation = room.store().generation();
    for (int i = 0; i < MachineRoom::kServers; ++i) {
        const auto status = room.status(i);
        if (!status.is_object() || status["server"].value("generation", std::int64_t(-1)) != generation) {
            return false;
        }
    }
    return true;
}

// Every agent holds `algorithm` (its own properties file) and no server
// waits for an ack.
inline bool everyone_holds(const MachineRoom& room, const std::string& algorithm) {
    for (int a = 0; a < room.agent_count(); ++a) {
        if (!ends_with(room.agent_host_value(a).value_or(""), "@" + algorithm)) {
            return false;
        }
    }
    for (int i = 0; i < MachineRoom::kServers; ++i) {
        if (room.metric(i, "agentlb_pushes_unacked") != std::optional<double>(0)) {
            return false;
        }
    }
    return true;
}

}  // namespace agentlb::test
