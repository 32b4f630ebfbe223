// Management servers on separate machines when their PostgreSQL goes away:
// one server's path to it cut (that server stops serving after the limit and
// its agents move), and PostgreSQL itself stopped for 30 s (nobody notices
// but the servers). Machines are network namespaces (machine_room.hpp).

#include "tests/e2e/machine_room.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>

using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

bool cannot_run(const std::string& what) {
    const auto why = netns_unavailable();
    if (why.empty()) {
        return false;
    }
    report_skipped(what, why);
    return true;
}

bool ends_with(const std::string& text, const std::string& end) {
    return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

// Agent name -> (server, connected_since) over `servers`; an agent listed
// twice keeps both (make-before-break), which every_agent_once rejects.
std::map<std::string, std::set<std::string>> sessions(const MachineRoom& room,
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

bool every_agent_once(const MachineRoom& room, const std::vector<int>& servers) {
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

std::string describe(const std::map<std::string, std::set<std::string>>& where) {
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

RoomOptions on_postgresql(std::map<std::string, std::string> config = {}) {
    RoomOptions options;
    options.store = RoomStore::postgresql;
    options.config = std::move(config);
    return options;
}

std::optional<bool> serving(const MachineRoom& room, int server) {
    const auto status = room.status(server);
    if (!status.is_object() || !status["server"].contains("serving")) {
        return std::nullopt;
    }
    return status["server"]["serving"].get<bool>();
}

// Every server answers with the store's generation.
bool in_sync(MachineRoom& room) {
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
bool everyone_holds(const MachineRoom& room, const std::string& algorithm) {
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

}  // namespace

TEST_CASE("multi-machine: a config change on PostgreSQL is acked by every agent on every server within 1 s") {
    if (cannot_run("multi-machine config change on PostgreSQL")) {
        return;
    }
    MachineRoom room(on_postgresql());
    const auto changed = Clock::now();
    room.set_config("indirect.agent.lb.algorithm", "static");
    const bool reached =
        wait_until([&] { return everyone_holds(room, "static") && in_sync(room); }, 5s, 10ms);
    const auto took = Clock::now() - changed;
    INFO(room.logs());
    REQUIRE(reached);
    CHECK(took <= 1s);
    CHECK(every_agent_once(room, {0, 1, 2}));
}

TEST_CASE("multi-machine: one server's link cut on PostgreSQL, its agents are elsewhere within 10 s") {
    if (cannot_run("multi-machine link cut on PostgreSQL")) {
        return;
    }
    MachineRoom room(on_postgresql());
    const auto victims = room.placement({0});
    INFO(describe(room.placement()));
    REQUIRE(!victims.empty());

    room.server_ns(0).link_down();
    const auto cut = Clock::now();
    const bool moved = wait_until([&] { return every_agent_once(room, {1, 2}); }, 15s, 50ms);
    const auto took = Clock::now() - cut;
    INFO(describe(room.placement()) << "\n" << room.logs());
    REQUIRE(moved);
    CHECK(took <= 10s);
    // The store agrees: each host recorded on the server that holds it.
    for (const auto& [name, on] : room.placement({1, 2})) {
        INFO(name);
        CHECK(wait_until(
            [&, server = *on.begin()] {
                const auto host = room.store().find_host(name);
                return host && host->connected_to == std::optional<std::string>(server);
            },
            5s,
            50ms));
    }
}

TEST_CASE(
    "multi-machine: one server cut off from PostgreSQL stops serving after the limit; its agents move") {
    if (cannot_run("multi-machine store path cut")) {
        return;
    }
    constexpr int kLimit = 3;
    MachineRoom room(on_postgresql({{"agentlb.store.unreachable.limit", std::to_string(kLimit)}}));
    const auto victims = room.placement({0});
    INFO(describe(room.placement()));
    REQUIRE(!victims.empty());
    REQUIRE(serving(room, 0) == std::optional<bool>(true));

    // A firewall between ms1 and the database, both ways; ms1 still reaches
    // the agents and they it.
    room.server_ns(0).drop_to(MachineRoom::kDatabaseIp);
    room.database_ns().drop_to(MachineRoom::server_ip(0));
    const auto cut = Clock::now();

    const bool stopped =
        wait_until([&] { return serving(room, 0) == std::optional<bool>(false); }, 30s, 100ms);
    const auto stopped_after = Clock::now() - cut;
    INFO(room.logs());
    REQUIRE(stopped);
    // Not before the limit.
    CHECK(stopped_after >= std::chrono::seconds(kLimit));
    CHECK(room.healthz(0) == 503);

    // Its agents went to the servers that see the shared configuration, and
    // none is lost: each is connected exactly once, and recorded there.
    const bool moved = wait_until([&] { return every_agent_once(room, {1, 2}); }, 15s, 100ms);
    INFO(describe(room.placement()));
    REQUIRE(moved);
    CHECK(room.placement({0}).empty());
    for (const auto& [name, on] : room.placement({1, 2})) {
        INFO(name);
        CHECK(wait_until(
            [&, server = *on.begin()] {
                const auto host = room.store().find_host(name);
                return host && host->connected_to == std::optional<std::string>(server);
            },
            5s,
            50ms));
    }
    // The others were never disturbed.
    for (int a = 0; a < room.agent_count(); ++a) {
        if (victims.count(MachineRoom::agent_name(a)) == 0) {
            CHECK(room.agent_log_count(a, "lost the connection") == 0);
        }
    }
    // A config change still reaches everyone (they are all on servers that see it).
    room.set_config("indirect.agent.lb.algorithm", "static");
    CHECK(wait_until([&] { return everyone_holds(room, "static"); }, 5s, 50ms));

    // The path back: ms1 serves again.
    room.server_ns(0).undrop(MachineRoom::kDatabaseIp);
    room.database_ns().undrop(MachineRoom::server_ip(0));
    CHECK(wait_until(
        [&] { return serving(room, 0) == std::optional<bool>(true) && room.healthz(0) == 200; }, 30s, 200ms));
}

TEST_CASE("multi-machine: PostgreSQL stopped for 30 s disconnects no agent; every server in sync after") {
    if (cannot_run("multi-machine PostgreSQL stopped for 30 s")) {
        return;
    }
    MachineRoom room(on_postgresql());
    const auto before = sessions(room, {0, 1, 2});
    INFO(describe(before));
    REQUIRE(static_cast<int>(before.size()) == room.agent_count());

    room.database_command("pause");
    const auto paused = Clock::now();
    int samples = 0;
    int broken = 0;
    bool unhealthy_seen = false;
    std::string first_break;
    while (Clock::now() - paused < 30s) {
        ++samples;
        // Still every agent on the server it had, with the same session.
        const auto now = sessions(room, {0, 1, 2});
        if (now != before) {
            if (broken++ == 0) {
                first_break = describe(now);
            }
        }
        double connected = 0;
        for (int i = 0; i < MachineRoom::kServers; ++i) {
            connected += room.metric(i, "agentlb_agents_connected").value_or(0);
            unhealthy_seen = unhealthy_seen || room.healthz(i) == 503;
        }
        if (connected != room.agent_count() && broken++ == 0) {
            first_break = "agentlb_agents_connected summed to " + std::to_string(connected);
        }
        std::this_thread::sleep_for(500ms);
    }
    room.database_command("resume");
    room.reopen_store();

    INFO(first_break << "\n" << room.logs());
    CHECK(samples > 30);
    CHECK(broken == 0);
    // /healthz said the store was missing.
    CHECK(unhealthy_seen);
    for (int a = 0; a < room.agent_count(); ++a) {
        INFO(MachineRoom::agent_name(a));
        CHECK(room.agent_log_count(a, "lost the connection") == 0);
    }

    // Back in sync: every server on the store's generation, healthy, and a
    // change made after the restart reaches every agent.
    CHECK(wait_until([&] { return in_sync(room); }, 10s, 100ms));
    for (int i = 0; i < MachineRoom::kServers; ++i) {
        CHECK(wait_until([&] { return room.healthz(i) == 200; }, 10s, 100ms));
    }
    const auto changed = Clock::now();
    room.set_config("indirect.agent.lb.algorithm", "static");
    const bool reached =
        wait_until([&] { return everyone_holds(room, "static") && in_sync(room); }, 5s, 10ms);
    REQUIRE(reached);
    CHECK(Clock::now() - changed <= 2s);
    CHECK(sessions(room, {0, 1, 2}) == before);
}
