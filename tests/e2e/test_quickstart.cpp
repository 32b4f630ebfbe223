// End to end: tools/quickstart.sh as an operator runs it, with the built
// binaries (AGENTLB_BIN), a free block of ports and a temp working folder.
// Every test ends every process its cluster started, even when it fails.

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <netinet/in.h>
#include <random>
#include <signal.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

using namespace agentlb::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Generous: a sanitizer build on a busy two-core machine is slow. The script
// itself gives up on each wait after 30 s.
constexpr auto kStartTimeout = std::chrono::milliseconds(180s);
constexpr auto kStopTimeout = std::chrono::milliseconds(60s);

const std::vector<std::string> kServers{"ms1", "ms2", "ms3"};
const std::vector<std::string> kAgents{"kvm1", "kvm2", "kvm3", "kvm4", "kvm5", "kvm6"};

// A listening socket on ip:port, closed with the object; fd < 0 when the
// address is taken. SO_REUSEADDR as the daemons' acceptors set it.
class Listener {
public:
    Listener(const std::string& ip, std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) {
            return;
        }
        const int on = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        ::inet_pton(AF_INET, ip.c_str(), &address.sin_addr);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
            ::listen(fd_, 4) != 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    ~Listener() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    bool ok() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

// The quickstart uses five ports from its base on 127.0.0.1..3. Bases are
// drawn below Linux's ephemeral range so outgoing connections never hold them.
std::uint16_t free_port_block() {
    std::mt19937 random(std::random_device{}());
    std::uniform_int_distribution<int> pick(2000, 3100);
    for (int attempt = 0; attempt < 100; ++attempt) {
        const auto base = static_cast<std::uint16_t>(pick(random) * 10);
        bool free = true;
        for (int offset = 0; offset < 5 && free; ++offset) {
            for (const char* ip : {"127.0.0.1", "127.0.0.2", "127.0.0.3"}) {
                if (!Listener(ip, static_cast<std::uint16_t>(base + offset)).ok()) {
                    free = false;
                    break;
                }
            }
        }
        if (free) {
            return base;
        }
    }
    throw std::runtime_error("no free block of five ports on 127.0.0.1..3");
}

std::vector<std::string> words(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> out;
    for (std::string word; in >> word;) {
        out.push_back(word);
    }
    return out;
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

struct ProcessInfo {
    pid_t pid = 0;
    std::string exe;  // the binary's file name
    std::vector<std::string> args;
};

// Live (not zombie) processes with `needle` in one of their arguments.
std::vector<ProcessInfo> processes_mentioning(const std::string& needle) {
    std::vector<ProcessInfo> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        const std::string stat = read_text(entry.path() / "stat");
        const auto close = stat.rfind(") ");
        if (close == std::string::npos || stat.compare(close + 2, 1, "Z") == 0) {
            continue;
        }
        const std::string cmdline = read_text(entry.path() / "cmdline");
        ProcessInfo info;
        info.pid = static_cast<pid_t>(std::stol(name));
        bool mentions = false;
        for (std::size_t start = 0; start < cmdline.size();) {
            const auto end = cmdline.find('\0', start);
            info.args.push_back(cmdline.substr(start, end - start));
            mentions = mentions || info.args.back().find(needle) != std::string::npos;
            start = end == std::string::npos ? cmdline.size() : end + 1;
        }
        if (!mentions) {
            continue;
        }
        info.exe = fs::read_symlink(entry.path() / "exe", ec).filename().string();
        found.push_back(std::move(info));
    }
    return found;
}

bool process_gone(pid_t pid) {
    const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(") ");
    return stat.empty() || close == std::string::npos || stat.compare(close + 2, 1, "Z") == 0;
}

// The value of KEY= in the run folder's env file, or "".
std::string recorded(const fs::path& run_dir, const std::string& key) {
    std::istringstream lines(read_text(run_dir / "env"));
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(key + "=", 0) == 0) {
            return line.substr(key.size() + 1);
        }
    }
    return "";
}

// One quickstart cluster in its own temp folder and port block; `store` is
// AGENTLB_STORE ("" leaves it unset).
class Quickstart {
public:
    explicit Quickstart(std::string store = "") : base_(free_port_block()), store_(std::move(store)) {
        // PostgreSQL runs as `nobody` when the tests run as root: let it
        // reach the folder, as in a normal checkout.
        fs::permissions(dir_.path(), fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
    }

    ~Quickstart() {
        // The script's own stop first; then anything that still names the
        // folder (a half-started cluster, a script that failed) is killed.
        run("stop", kStopTimeout);
        for (const auto& process : processes_mentioning(run_dir().string())) {
            ::kill(process.pid, SIGKILL);
        }
        // A PostgreSQL folder outside the run folder (see quickstart.sh) goes too.
        const std::string pg_dir = recorded(run_dir(), "AGENTLB_QUICKSTART_PG_DIR");
        if (!pg_dir.empty() && pg_dir.rfind(run_dir().string(), 0) != 0) {
            run_command({AGENTLB_PG_LOCAL, "stop", pg_dir}, kStopTimeout);
        }
    }
    Quickstart(const Quickstart&) = delete;
    Quickstart& operator=(const Quickstart&) = delete;

    CommandResult run(const std::string& command, std::chrono::milliseconds timeout) const {
        return run_command({"/bin/bash", AGENTLB_QUICKSTART, command},
                           timeout,
                           {{"AGENTLB_RUN", run_dir().string()},
                            {"AGENTLB_BIN", AGENTLB_BIN_DIR},
                            {"AGENTLB_PORT_BASE", std::to_string(base_)},
                            {"AGENTLB_STORE", store_}});
    }
    CommandResult start() const { return run("start", kStartTimeout); }
    CommandResult stop() const { return run("stop", kStopTimeout); }

    fs::path run_dir() const { return dir_ / "run"; }
    std::uint16_t base() const { return base_; }

    std::string server_address(int index) const {
        return "127.0.0." + std::to_string(index) + ":" + std::to_string(base_);
    }

    // The pid recorded for each process the script runs.
    std::map<std::string, pid_t> recorded_pids() const {
        std::map<std::string, pid_t> pids;
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(run_dir() / "pids", ec)) {
            if (entry.path().extension() == ".pid") {
                pids[entry.path().stem().string()] = static_cast<pid_t>(std::stol(read_text(entry.path())));
            }
        }
        return pids;
    }

private:
    TempDir dir_;  // declared first: removed last, after the processes are gone
    std::uint16_t base_;
    std::string store_;
};

std::string describe(const CommandResult& result) {
    return "exit " + std::to_string(result.exit_code) + "\n--- stdout\n" + result.out + "\n--- stderr\n" +
           result.err;
}

// `host` is ms1,ms2,ms3; roundrobin rotates it left by the host's position.
std::string expected_list(const Quickstart& cluster, int position) {
    std::string list;
    for (int i = 0; i < 3; ++i) {
        list += (i == 0 ? "" : ",") + cluster.server_address((position + i) % 3 + 1);
    }
    return list + "@roundrobin";
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
    REQUIRE(rows.size() == kAgents.size());
    for (int i = 0; i < static_cast<int>(kAgents.size()); ++i) {
        INFO(kAgents[i]);
        const auto& row = rows[kAgents[i]];
        // AGENT ID PROCESS CONNECTED-TO(name address) LIST
        REQUIRE(row.size() == 6);
        CHECK(row[1] == std::to_string(i + 1));
        CHECK(row[2].rfind("pid", 0) == 0);
        CHECK(row[3] == kServers[i % 3]);
        CHECK(row[4] == cluster.server_address(i % 3 + 1));
        CHECK(row[5] == expected_list(cluster, i % 3));
    }
}

// Exactly the nine daemons name the folder (besides PostgreSQL's postmaster
// in PostgreSQL mode), each is the binary itself (no wrapper shell or setsid
// left) and matches its recorded pid.
void check_processes(const Quickstart& cluster) {
    const auto recorded = cluster.recorded_pids();
    REQUIRE(recorded.size() == kServers.size() + kAgents.size());
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
    CHECK(started.out.find("indirect.agent.lb.algorithm       roundrobin") != std::string::npos);
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
        kStartTimeout,
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
                                    kStartTimeout,
                                    {{"AGENTLB_RUN", same.run_dir().string()},
                                     {"AGENTLB_BIN", AGENTLB_BIN_DIR},
                                     {"AGENTLB_STORE", "sqlite"}});
    CHECK(sqlite.exit_code == 1);
    CHECK(sqlite.err.find("was set up with AGENTLB_STORE=postgresql, not sqlite") != std::string::npos);
}
