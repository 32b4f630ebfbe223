// End to end: tools/quickstart.sh as an operator runs it (start, status,
// stop, a killed server started again, PostgreSQL), on a cluster of
// tests/e2e/quickstart_cluster.hpp.

#include "tests/e2e/quickstart_cluster.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <signal.h>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace agentlb::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// `host` is ms1,ms2,ms3; roundrobin rotates it left by the host's position.
std::string expected_list(const Quickstart& cluster, int position) {
    std::string list;
    for (int i = 0; i < 3; ++i) {
        list += (i == 0 ? "" : ",") + cluster.server_address((position + i) % 3 + 1);
    }
    return list + "@roundrobin";
}

// The value `agentlbctl status` prints for a configuration key (its column
// width follows the longest key name), "" when the key is not listed.
std::string status_value(const std::string& out, const std::string& key) {
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        auto fields = words(line);
        if (fields.size() >= 2 && fields[0] == key) {
            return fields[1];
        }
    }
    return {};
}

// The agents table printed after `agentlbctl status`: every agent on the
// server its roundrobin list puts first, holding that list.
void check_placement(const Quickstart& cluster, const std::string& out) {
    std::map<std::string, std::vector<std::string>> rows;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        auto fields = words(line);
        if (!fields.empty() && fields[0].rfind("kvm", 0) == 0) {
            rows[fields[0]] = fields;
        }
    }
    REQUIRE(rows.size() == kQuickstartAgents.size());
    for (int i = 0; i < static_cast<int>(kQuickstartAgents.size()); ++i) {
        INFO(kQuickstartAgents[i]);
        const auto& row = rows[kQuickstartAgents[i]];
        // AGENT ID PROCESS CONNECTED-TO(name address) LIST
        REQUIRE(row.size() == 6);
        CHECK(row[1] == std::to_string(i + 1));
        CHECK(row[2].rfind("pid", 0) == 0);
        CHECK(row[3] == kQuickstartServers[i % 3]);
        CHECK(row[4] == cluster.server_address(i % 3 + 1));
        CHECK(row[5] == expected_list(cluster, i % 3));
    }
}

// Exactly the nine daemons name the folder (besides PostgreSQL's postmaster
// in PostgreSQL mode), each is the binary itself (no wrapper shell or setsid
// left) and matches its recorded pid.
void check_processes(const Quickstart& cluster) {
    const auto recorded = cluster.recorded_pids();
    REQUIRE(recorded.size() == kQuickstartServers.size() + kQuickstartAgents.size());
    std::vector<ProcessInfo> live;
    for (auto& process : processes_mentioning(cluster.run_dir().string())) {
        if (process.exe != "postgres") {
            live.push_back(std::move(process));
        }
    }
    CHECK(live.size() == recorded.size());
    std::map<pid_t, std::string> exe_by_pid;
    for (const auto& process : live) {
        exe_by_pid[process.pid] = process.exe;
    }
    for (const auto& [name, pid] : recorded) {
        INFO(name << " pid " << pid);
        REQUIRE(exe_by_pid.count(pid) == 1);
        CHECK(exe_by_pid[pid] == (name.rfind("ms", 0) == 0 ? "agentlb-mgmt" : "agentlb-agent"));
    }
}

}  // namespace

TEST_CASE(
    "quickstart: six agents on three servers by roundrobin then a second start changes nothing and stop "
    "ends exactly its processes",
    "[e2e]") {
    Quickstart cluster;

    const auto started = cluster.start();
    INFO(describe(started));
    REQUIRE(started.exit_code == 0);
    CHECK(started.out.find("hosts: 6 registered, 6 connected") != std::string::npos);
    CHECK(status_value(started.out, "indirect.agent.lb.algorithm") == "roundrobin");
    CHECK(started.out.find("tools/quickstart.sh stop") != std::string::npos);
    check_placement(cluster, started.out);
    check_processes(cluster);
    const auto pids = cluster.recorded_pids();

    const auto again = cluster.start();
    INFO(describe(again));
    REQUIRE(again.exit_code == 0);
    CHECK(again.out.find("already running") != std::string::npos);
    CHECK(cluster.recorded_pids() == pids);
    check_placement(cluster, again.out);
    check_processes(cluster);

    const auto stopped = cluster.stop();
    INFO(describe(stopped));
    REQUIRE(stopped.exit_code == 0);
    CHECK(stopped.out.find("stopped 9 processes") != std::string::npos);
    for (const auto& [name, pid] : pids) {
        INFO(name);
        CHECK(process_gone(pid));
    }
    CHECK(processes_mentioning(cluster.run_dir().string()).empty());
    // Kept for inspection.
    CHECK(fs::exists(cluster.run_dir() / "agentlb.db"));
    CHECK(fs::exists(cluster.run_dir() / "logs" / "ms1.log"));
    CHECK(fs::exists(cluster.run_dir() / "agents" / "kvm1" / "agent.properties"));

    const auto nothing = cluster.stop();
    CHECK(nothing.exit_code == 0);
    CHECK(nothing.out.find("nothing running") != std::string::npos);
}

TEST_CASE(
    "quickstart: start brings back a killed server alone and a stopped cluster starts again from its folder",
    "[e2e]") {
    Quickstart cluster;
    const auto started = cluster.start();
    INFO(describe(started));
    REQUIRE(started.exit_code == 0);
    const auto before = cluster.recorded_pids();

    ::kill(before.at("ms2"), SIGTERM);
    REQUIRE(wait_until([&] { return process_gone(before.at("ms2")); }, 20s));

    const auto restarted = cluster.start();
    INFO(describe(restarted));
    REQUIRE(restarted.exit_code == 0);
    CHECK(restarted.out.find("restarting what is not running") != std::string::npos);
    CHECK(restarted.out.find("hosts: 6 registered, 6 connected") != std::string::npos);
    const auto after = cluster.recorded_pids();
    for (const auto& [name, pid] : before) {
        INFO(name);
        if (name == "ms2") {
            CHECK(after.at(name) != pid);
        } else {
            CHECK(after.at(name) == pid);
        }
    }
    check_processes(cluster);

    REQUIRE(cluster.stop().exit_code == 0);
    const auto resumed = cluster.start();
    INFO(describe(resumed));
    REQUIRE(resumed.exit_code == 0);
    CHECK(resumed.out.find("starting the cluster kept in") != std::string::npos);
    // Same CA and hosts: nobody enrolled again, so ids and placement hold.
    CHECK(resumed.out.find("hosts: 6 registered, 6 connected") != std::string::npos);
    check_placement(cluster, resumed.out);
    check_processes(cluster);
}

TEST_CASE(
    "quickstart: restart msN ends that server with SIGTERM and starts it alone again, and refuses any other "
    "name",
    "[e2e]") {
    Quickstart cluster;
    const auto started = cluster.start();
    INFO(describe(started));
    REQUIRE(started.exit_code == 0);
    const auto before = cluster.recorded_pids();

    const auto restarted = cluster.run({"restart", "ms2"}, kQuickstartStartTimeout);
    INFO(describe(restarted));
    REQUIRE(restarted.exit_code == 0);
    CHECK(restarted.out.find("ms2 (pid " + std::to_string(before.at("ms2")) + "): SIGTERM") !=
          std::string::npos);
    CHECK(restarted.out.find("ms2 up again on " + cluster.server_address(2)) != std::string::npos);
    CHECK(restarted.out.find("ADDRESS") != std::string::npos);  // agentlbctl mgmt list follows
    CHECK(process_gone(before.at("ms2")));
    const auto after = cluster.recorded_pids();
    for (const auto& [name, pid] : before) {
        INFO(name);
        CHECK((after.at(name) != pid) == (name == "ms2"));
    }
    check_processes(cluster);

    for (const std::vector<std::string>& wrong : {std::vector<std::string>{"restart"},
                                                  {"restart", "ms4"},
                                                  {"restart", "kvm1"},
                                                  {"restart", "ms1", "ms2"}}) {
        const auto refused = cluster.run(wrong, kQuickstartStopTimeout);
        INFO(describe(refused));
        CHECK(refused.exit_code == 2);
        CHECK(refused.err.find("restart takes one server name: ms1, ms2 or ms3") != std::string::npos);
    }
    CHECK(cluster.recorded_pids() == after);
}

TEST_CASE("quickstart: a port in use is refused before anything starts", "[e2e]") {
    Quickstart cluster;
    Listener squatter("127.0.0.2", cluster.base());
    REQUIRE(squatter.ok());

    const auto refused = cluster.start();
    INFO(describe(refused));
    CHECK(refused.exit_code == 1);
    CHECK(refused.err.find("127.0.0.2:" + std::to_string(cluster.base()) + " is already in use") !=
          std::string::npos);
    CHECK(refused.err.find("AGENTLB_PORT_BASE=") != std::string::npos);
    CHECK(processes_mentioning(cluster.run_dir().string()).empty());

    const auto nothing = cluster.stop();
    CHECK(nothing.exit_code == 0);
    CHECK(nothing.out.find("nothing running") != std::string::npos);
}

TEST_CASE(
    "quickstart on PostgreSQL: the same demo on a PostgreSQL it starts, no password on any command line, "
    "and stop stops PostgreSQL too",
    "[e2e]") {
    Quickstart cluster("postgresql");

    const auto started = cluster.start();
    INFO(describe(started));
    REQUIRE(started.exit_code == 0);
    CHECK(started.out.find("== new PostgreSQL in " + (cluster.run_dir() / "postgresql").string()) !=
          std::string::npos);
    CHECK(started.out.find("store postgresql://agentlb@127.0.0.1:") != std::string::npos);
    CHECK(started.out.find("hosts: 6 registered, 6 connected") != std::string::npos);
    check_placement(cluster, started.out);
    check_processes(cluster);
    CHECK_FALSE(fs::exists(cluster.run_dir() / "agentlb.db"));

    // The password is in run/pgpass (0600) only: on no command line, in no output, not in run/env.
    const std::string pgpass = read_text(cluster.run_dir() / "pgpass");
    const std::string password =
        pgpass.substr(pgpass.rfind(':') + 1, pgpass.find('\n') - pgpass.rfind(':') - 1);
    REQUIRE(password.size() >= 16);
    CHECK((fs::status(cluster.run_dir() / "pgpass").permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));
    CHECK(processes_mentioning(password).empty());
    CHECK(started.out.find(password) == std::string::npos);
    CHECK(started.err.find(password) == std::string::npos);
    const std::string env = read_text(cluster.run_dir() / "env");
    CHECK(env.find(password) == std::string::npos);
    CHECK(env.find("export PGPASSFILE=") != std::string::npos);
    CHECK(recorded(cluster.run_dir(), "AGENTLB_QUICKSTART_STORE") == "postgresql");
    const auto pids = cluster.recorded_pids();

    const auto stopped = cluster.stop();
    INFO(describe(stopped));
    REQUIRE(stopped.exit_code == 0);
    CHECK(stopped.out.find("stopped 9 processes and PostgreSQL") != std::string::npos);
    CHECK(processes_mentioning(cluster.run_dir().string()).empty());
    CHECK_FALSE(fs::exists(cluster.run_dir() / "postgresql" / "data" / "postmaster.pid"));

    // The folder keeps its store: started again without AGENTLB_STORE, from the kept data.
    const Quickstart& same = cluster;
    const auto resumed = run_command(
        {"/bin/bash", AGENTLB_QUICKSTART, "start"},
        kQuickstartStartTimeout,
        {{"AGENTLB_RUN", same.run_dir().string()}, {"AGENTLB_BIN", AGENTLB_BIN_DIR}, {"AGENTLB_STORE", ""}});
    INFO(describe(resumed));
    REQUIRE(resumed.exit_code == 0);
    CHECK(resumed.out.find("== starting PostgreSQL kept in") != std::string::npos);
    CHECK(resumed.out.find("starting the cluster kept in") != std::string::npos);
    CHECK(resumed.out.find("hosts: 6 registered, 6 connected") != std::string::npos);
    check_placement(cluster, resumed.out);
    for (const auto& [name, pid] : pids) {
        INFO(name);
        CHECK(process_gone(pid));
    }

    const auto sqlite = run_command({"/bin/bash", AGENTLB_QUICKSTART, "start"},
                                    kQuickstartStartTimeout,
                                    {{"AGENTLB_RUN", same.run_dir().string()},
                                     {"AGENTLB_BIN", AGENTLB_BIN_DIR},
                                     {"AGENTLB_STORE", "sqlite"}});
    CHECK(sqlite.exit_code == 1);
    CHECK(sqlite.err.find("was set up with AGENTLB_STORE=postgresql, not sqlite") != std::string::npos);
}
