// Management servers on separate machines: three agentlb-mgmt, the store and
// real agents, each "machine" a network namespace of its own on one switch
// (tests/e2e/machine_room.hpp). Skipped, and reported so, where namespaces
// cannot be made (not root, no CAP_NET_ADMIN, no iproute2).

#include "tests/e2e/machine_room.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <string>
#include <thread>

using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// True (and reported as a skip) when this machine cannot make namespaces.
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

// Every agent is listed by exactly one of `servers` (and by none twice).
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

// The agents a server lists now.
std::set<std::string> agents_on(const MachineRoom& room, int server) {
    std::set<std::string> names;
    for (const auto& [name, on] : room.placement({server})) {
        names.insert(name);
    }
    return names;
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

}  // namespace

TEST_CASE("multi-machine: a config change is acked by every agent on every server within 1 s") {
    if (cannot_run("multi-machine config change")) {
        return;
    }
    MachineRoom room(RoomOptions{});
    // The roundrobin lists spread the agents over all three machines.
    for (int i = 0; i < MachineRoom::kServers; ++i) {
        INFO(describe(room.placement()));
        REQUIRE(!agents_on(room, i).empty());
    }

    const auto changed = Clock::now();
    room.set_config("indirect.agent.lb.algorithm", "static");
    const auto everywhere = [&] {
        int listed = 0;
        for (int i = 0; i < MachineRoom::kServers; ++i) {
            const auto status = room.status(i);
            if (!status.is_object()) {
                return false;
            }
            for (const auto& agent : status["agents"]) {
                if (agent.value("algorithm", "") != "static") {
                    return false;
                }
                ++listed;
            }
            // Sent is not acked: nothing may still wait for an ack.
            if (room.metric(i, "agentlb_pushes_unacked") != std::optional<double>(0)) {
                return false;
            }
        }
        for (int a = 0; a < room.agent_count(); ++a) {
            // The agent's own state: the list it wrote before acking.
            if (!ends_with(room.agent_host_value(a).value_or(""), "@static")) {
                return false;
            }
        }
        return listed == room.agent_count();
    };
    const bool reached = wait_until(everywhere, 5s, 10ms);
    const auto took = Clock::now() - changed;
    INFO(room.logs());
    REQUIRE(reached);
    CHECK(took <= 1s);
    // Nobody was moved or reconnected by it.
    CHECK(every_agent_once(room, {0, 1, 2}));
    for (int a = 0; a < room.agent_count(); ++a) {
        CHECK(room.agent_log_count(a, "lost the connection") == 0);
    }
}

TEST_CASE("multi-machine: one server's link cut, its agents are connected to the others within 10 s") {
    if (cannot_run("multi-machine link cut")) {
        return;
    }
    MachineRoom room(RoomOptions{});
    const auto victims = agents_on(room, 0);
    INFO(describe(room.placement()));
    REQUIRE(!victims.empty());

    room.server_ns(0).link_down();
    const auto cut = Clock::now();
    const bool moved = wait_until([&] { return every_agent_once(room, {1, 2}); }, 15s, 50ms);
    const auto took = Clock::now() - cut;
    INFO(describe(room.placement()) << "\n" << room.logs());
    REQUIRE(moved);
    CHECK(took <= 10s);
    for (int a = 0; a < room.agent_count(); ++a) {
        const auto name = MachineRoom::agent_name(a);
        INFO(name);
        if (victims.count(name) != 0) {
            // Its own view: it lost ms1, then connected to another machine.
            const auto log = room.agent_log(a);
            const auto lost = log.rfind("lost the connection to " + MachineRoom::server_address(0));
            REQUIRE(lost != std::string::npos);
            const auto after = log.substr(lost);
            CHECK((after.find("connected to " + MachineRoom::server_address(1)) != std::string::npos ||
                   after.find("connected to " + MachineRoom::server_address(2)) != std::string::npos));
        } else {
            // The others never noticed.
            CHECK(room.agent_log_count(a, "lost the connection") == 0);
        }
    }
    // The cut server, still answering on its own loopback, let its
    // sessions go once their heartbeats stopped.
    CHECK(wait_until([&] { return room.status(0).is_object() && agents_on(room, 0).empty(); }, 10s, 100ms));

    // The cable back: the machine serves again (a new agent would reach it),
    // and nobody is lost meanwhile.
    room.server_ns(0).link_up();
    std::this_thread::sleep_for(1s);
    CHECK(every_agent_once(room, {0, 1, 2}));
}

TEST_CASE("multi-machine harness: namespaces left by a crashed run are removed, a live run's are kept") {
    if (cannot_run("stale namespace cleanup")) {
        return;
    }
    // A pid that is surely dead: a child that has exited and been reaped.
    const auto dead = run_command({"/bin/sh", "-c", "echo $$"});
    REQUIRE(dead.exit_code == 0);
    const std::string stale = std::string(NetLab::kFamily) + std::to_string(std::stol(dead.out)) + "-1-sw";
    NetLab lab;
    Namespace live(lab.name("live"));
    run_ip({"netns", "add", stale});

    CHECK(NetLab::remove_stale() >= 1);
    const auto listed = run_command({ip_binary(), "netns", "list"}).out;
    CHECK(listed.find(stale) == std::string::npos);
    CHECK(listed.find(live.name()) != std::string::npos);
}
