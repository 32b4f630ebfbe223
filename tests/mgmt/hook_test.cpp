// `agentlb-mgmt --hook PROGRAM` with the real binary and real hook scripts
// written into the test's temp folder, and the hook runner alone with a hook
// that never reads its stdin.

#include "common/util/clock.hpp"
#include "mgmt/hook_runner.hpp"
#include "mgmt/metrics.hpp"
#include "tests/mgmt/integration_helpers.hpp"
#include "tests/support/log_lines.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/three_servers.hpp"

#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// An executable shell script in `dir`.
std::string write_script(const std::filesystem::path& dir, const std::string& name, const std::string& body) {
    const auto path = dir / name;
    {
        std::ofstream out(path);
        out << "#!/bin/sh\n" << body;
    }
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    return path.string();
}

// A hook that appends "EVENT JSON" to `events` (one line per run).
std::string recording_hook(const std::filesystem::path& dir, const std::filesystem::path& events) {
    return write_script(
        dir, "record.sh", "line=$(cat)\nprintf '%s %s\\n' \"$1\" \"$line\" >> '" + events.string() + "'\n");
}

struct Recorded {
    std::string argv_event;
    nlohmann::json json;
};

std::vector<Recorded> read_events(const std::filesystem::path& events) {
    std::vector<Recorded> out;
    std::ifstream in(events);
    for (std::string line; std::getline(in, line);) {
        const auto space = line.find(' ');
        if (space == std::string::npos) {
            continue;
        }
        out.push_back({line.substr(0, space), nlohmann::json::parse(line.substr(space + 1), nullptr, false)});
    }
    return out;
}

std::vector<Recorded> matching(const std::filesystem::path& events,
                               const std::function<bool(const nlohmann::json&)>& accept) {
    std::vector<Recorded> out;
    for (auto& event : read_events(events)) {
        if (event.json.is_object() && accept(event.json)) {
            out.push_back(std::move(event));
        }
    }
    return out;
}

std::string file_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Gone, or a zombie nobody reaped yet (the container's init may not).
bool process_gone(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) {
        return true;
    }
    const auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

}  // namespace

TEST_CASE("the hook hears agent.connected and agent.disconnected with the agent's host, and server.up") {
    CaFixture fixture;
    TempDir dir;
    const auto events = dir.path() / "events.log";
    MgmtServer m1(fixture, "M1", {"--hook", recording_hook(dir.path(), events)});
    fixture.set_config("host", m1.address());
    auto h1 = fixture.enroll("h1", "zone-a");
    REQUIRE(wait_synced(fixture, m1));

    REQUIRE(wait_until(
        [&] { return !matching(events, [](auto& j) { return j["event"] == "server.up"; }).empty(); }, 5s));
    const auto up = matching(events, [](auto& j) { return j["event"] == "server.up"; });
    CHECK(up.front().argv_event == "server.up");
    CHECK(up.front().json["server"] == "M1");
    CHECK(up.front().json["peer"] == "M1");
    CHECK(up.front().json["state"] == "up");
    CHECK(up.front().json["reason"] == "started");

    auto agent = connect_agent(fixture, h1, m1);
    auto connected = [&] {
        return matching(events, [](auto& j) { return j["event"] == "agent.connected"; });
    };
    REQUIRE(wait_until([&] { return !connected().empty(); }, 5s));
    const auto c = connected().front();
    INFO(c.json.dump());
    CHECK(c.argv_event == "agent.connected");
    CHECK(c.json["server"] == "M1");
    CHECK(c.json["host"]["name"] == "h1");
    CHECK(c.json["host"]["id"] == h1.host_id);
    CHECK(c.json["host"]["zone"] == "zone-a");
    CHECK(c.json["time"].get<std::string>().size() == 20);

    agent.reset();
    auto disconnected = [&] {
        return matching(events, [](auto& j) { return j["event"] == "agent.disconnected"; });
    };
    REQUIRE(wait_until([&] { return !disconnected().empty(); }, 5s));
    const auto d = disconnected().front();
    INFO(d.json.dump());
    CHECK(d.json["host"]["name"] == "h1");
    CHECK(d.json["host"]["id"] == h1.host_id);
    CHECK((d.json["reason"] == "peer_closed" || d.json["reason"] == "read_failed"));
    CHECK(wait_until([&] { return m1.metric("agentlb_hook_runs_total{result=\"ok\"}") >= 3; }, 5s));
    CHECK(m1.metric("agentlb_hook_runs_total{result=\"failed\"}") == 0);
    CHECK(m1.metric("agentlb_hook_events_dropped_total") == 0);

    // The whole exposition, hook families included, as Prometheus reads it.
    if (std::system("command -v promtool > /dev/null 2>&1") == 0) {
        const auto scraped = dir.path() / "metrics.txt";
        {
            std::ofstream out(scraped);
            out << m1.metrics();
        }
        const auto report = dir.path() / "promtool.txt";
        const auto command =
            "promtool check metrics < '" + scraped.string() + "' > '" + report.string() + "' 2>&1";
        const int rc = std::system(command.c_str());
        INFO(file_text(report));
        CHECK(rc == 0);
        CHECK(file_text(report).empty());  // no lint complaint either
    } else {
        WARN("promtool not installed: the exposition format is not checked");
    }

    // A clean stop: its own server.down is run before the process exits.
    REQUIRE(m1.stop() == std::optional<int>(0));
    const auto down = matching(events, [](auto& j) { return j["event"] == "server.down"; });
    REQUIRE(down.size() == 1);
    CHECK(down.front().json["peer"] == "M1");
    CHECK(down.front().json["state"] == "down");
    CHECK(down.front().json["reason"] == "shutdown");
}

TEST_CASE("bad hook flags stop agentlb-mgmt with exit 2 and a message naming the flag") {
    CaFixture fixture;
    TempDir dir;
    const auto hook = write_script(dir.path(), "ok.sh", "exit 0\n");
    const auto base = mgmt_command_line(
        fixture, "M1", "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3");  // never bound: refused first
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"--hook", (dir.path() / "missing").string()},
         "--hook '" + (dir.path() / "missing").string() + "': no such file"},
        {{"--hook", hook, "--hook-timeout", "0"}, "--hook-timeout 0 is outside 1..3600"},
        {{"--hook", hook, "--hook-concurrency", "x"}, "--hook-concurrency 'x' is not a whole number"},
        {{"--hook-concurrency", "2"}, "--hook-concurrency needs --hook"},
    };
    for (const auto& [extra, message] : cases) {
        auto argv = base;
        argv.insert(argv.end(), extra.begin(), extra.end());
        const auto result = run_command(argv, 10s);
        INFO(result.err);
        CHECK(result.exit_code == 2);
        CHECK_THAT(result.err, Catch::Contains(message));
    }
}

TEST_CASE("a hook that outlives --hook-timeout is killed with its children while agents keep connecting") {
    CaFixture fixture;
    TempDir dir;
    const auto pids = dir.path() / "pids";
    // Its child is what must die too: the whole process group is killed.
    const auto hook = write_script(
        dir.path(), "slow.sh", "cat > /dev/null\nsleep 30 &\necho $! >> '" + pids.string() + "'\nwait\n");
    MgmtServer m1(fixture, "M1", {"--hook", hook, "--hook-timeout", "2", "--hook-concurrency", "1"});
    fixture.set_config("host", m1.address());
    std::vector<AgentIdentity> hosts;
    for (int i = 0; i < 3; ++i) {
        hosts.push_back(fixture.enroll("h" + std::to_string(i)));
    }
    REQUIRE(wait_synced(fixture, m1));
    // server.up's hook holds the only slot now.
    REQUIRE(wait_until([&] { return std::filesystem::exists(pids); }, 5s));
    std::vector<std::unique_ptr<TestAgent>> agents;
    for (const auto& host : hosts) {
        const auto start = Clock::now();
        agents.push_back(connect_agent(fixture, host, m1));
        const auto took = Clock::now() - start;
        CHECK(took < 1s);  // a session never waits for a hook
    }
    REQUIRE(wait_until([&] { return m1.metric("agentlb_hook_runs_total{result=\"timeout\"}") >= 1; }, 5s));
    CHECK(lines_containing(m1.log(), "for server.up ran longer than --hook-timeout 2 s: killed") == 1);
    std::istringstream first(file_text(pids));
    pid_t sleeper = 0;
    first >> sleeper;
    REQUIRE(sleeper > 0);
    CHECK(wait_until([&] { return process_gone(sleeper); }, 2s));
    // The next event's hook got the slot.
    CHECK(wait_until([&] { return lines_containing(file_text(pids), "") >= 2; }, 3s));
    CHECK(m1.metric("agentlb_hook_runs_total{result=\"ok\"}") == 0);
}

TEST_CASE("a hook that exits 1 is logged as failed with the event name and counted") {
    CaFixture fixture;
    TempDir dir;
    const auto hook = write_script(dir.path(), "fail.sh", "cat > /dev/null\nexit 1\n");
    MgmtServer m1(fixture, "M1", {"--hook", hook});
    REQUIRE(wait_until([&] { return m1.metric("agentlb_hook_runs_total{result=\"failed\"}") >= 1; }, 5s));
    CHECK(lines_containing(m1.log(), "hook: " + hook + " for server.up failed: it exited with status 1") ==
          1);
    CHECK(m1.metric("agentlb_hook_runs_total{result=\"ok\"}") == 0);
}

TEST_CASE("events beyond the hook queue are dropped, counted and logged") {
    CaFixture fixture;
    TempDir dir;
    // Every run waits for the gate: the first one holds the only slot for as
    // long as the test wants, however slow the machine.
    const auto gate = dir.path() / "gate";
    const auto hook =
        write_script(dir.path(),
                     "gated.sh",
                     "cat > /dev/null\nwhile [ ! -e '" + gate.string() + "' ]; do sleep 0.05; done\n");
    MgmtServer m1(fixture,
                  "M1",
                  {"--hook", hook, "--hook-concurrency", "1", "--hook-timeout", "60", "--hook-queue", "2"});
    fixture.set_config("host", m1.address());
    std::vector<AgentIdentity> hosts;
    for (int i = 0; i < 5; ++i) {
        hosts.push_back(fixture.enroll("h" + std::to_string(i)));
    }
    REQUIRE(wait_synced(fixture, m1));
    // server.up's run holds the slot: two agent.connected wait, three are dropped.
    std::vector<std::unique_ptr<TestAgent>> agents;
    for (const auto& host : hosts) {
        agents.push_back(connect_agent(fixture, host, m1));
    }
    CHECK(wait_until([&] { return m1.metric("agentlb_hook_events_dropped_total") == 3; }, 2s));
    CHECK(m1.metric("agentlb_hook_events_dropped_total") == 3);
    // The first drop is logged at once, the next ones within the period are not.
    CHECK(lines_containing(m1.log(), "hook: 1 events dropped: 2 are already waiting") == 1);
    CHECK(lines_containing(m1.log(), "events dropped") == 1);
    CHECK(m1.metric("agentlb_hook_runs_total{result=\"ok\"}") == 0);

    // Opened: the held run and the two queued ones finish.
    { std::ofstream open_gate(gate); }
    CHECK(wait_until([&] { return m1.metric("agentlb_hook_runs_total{result=\"ok\"}") == 3; }, 5s));
    CHECK(m1.metric("agentlb_hook_events_dropped_total") == 3);
}

TEST_CASE("maintenance, a drained agent and a peer marked down reach the hook") {
    TempDir dir;
    const auto events = dir.path() / "events.log";
    ThreeServersOptions options;
    options.agents = 2;
    options.server_args = {"--hook", recording_hook(dir.path(), events)};
    ThreeServers cluster(options);
    REQUIRE(cluster.wait_all_connected(20s));
    INFO(cluster.layout());
    REQUIRE(cluster.count_on("ms1") == 2);

    auto change = cluster.fixture().store().begin_maintenance("ms1", util::unix_now(), 5);
    REQUIRE(change.ok());
    auto maintenance = [&] {
        return matching(events, [](auto& j) { return j["event"] == "server.maintenance"; });
    };
    REQUIRE(wait_until([&] { return !maintenance().empty(); }, 20s, 100ms));
    const auto m = maintenance();
    CHECK(m.size() == 1);
    CHECK(m.front().json["server"] == "ms1");
    CHECK(m.front().json["peer"] == "ms1");
    CHECK(m.front().json["state"] == "maintenance");

    // Both agents left ms1 because it asked them to.
    // Hooks run side by side: server.maintenance's may be written first.
    auto moved_events = [&] { return matching(events, [](auto& j) { return j["event"] == "agent.moved"; }); };
    CHECK(wait_until([&] { return moved_events().size() >= 2; }, 5s));
    const auto moved = moved_events();
    CHECK(moved.size() == 2);
    for (const auto& event : moved) {
        INFO(event.json.dump());
        CHECK(event.json["server"] == "ms1");
        CHECK(event.json["reason"] == "migrate");
        CHECK_THAT(event.json["detail"].get<std::string>(), Catch::Contains("going into maintenance"));
    }
    CHECK(matching(events, [](auto& j) { return j["event"] == "agent.disconnected"; }).empty());
    auto on_ms2 = [&] {
        return matching(events,
                        [](auto& j) { return j["event"] == "agent.connected" && j["server"] == "ms2"; });
    };
    CHECK(wait_until([&] { return on_ms2().size() == 2; }, 5s));

    // ms3 dies: a peer marks it down and says so once.
    cluster.server(2).signal(SIGKILL);
    auto down = [&] {
        return matching(events, [](auto& j) { return j["event"] == "server.down" && j["peer"] == "ms3"; });
    };
    REQUIRE(wait_until([&] { return !down().empty(); }, 15s, 100ms));
    const auto d = down().front();
    INFO(d.json.dump());
    CHECK(d.json["server"] != "ms3");
    CHECK(d.json["state"] == "down");
    CHECK(d.json["reason"] == "heartbeat_missed");
    CHECK_THAT(d.json["detail"].get<std::string>(), Catch::StartsWith("management server ms3 is down: "));
    std::this_thread::sleep_for(2s);
    CHECK(down().size() == 1);
}

TEST_CASE("the runner neither blocks nor waits on a hook that never reads a large event") {
    TempDir dir;
    const auto hook = write_script(dir.path(), "deaf.sh", "exec sleep 30\n");
    mgmt::Metrics metrics;
    mgmt::HookRunner runner(mgmt::HookSettings{hook, 1, 1s, 4}, metrics);
    // Far beyond a pipe's buffer (64 KiB).
    auto big = mgmt::agent_hook_event(mgmt::kHookAgentDisconnected, "ms1", mgmt::HookHost{"h1", 1, "z"});
    big.detail.assign(1 << 20, 'x');
    runner.post(big);
    std::this_thread::sleep_for(300ms);  // it runs: the queue is empty again
    const auto start = Clock::now();
    for (int i = 0; i < 6; ++i) {
        runner.post(mgmt::agent_hook_event(mgmt::kHookAgentConnected, "ms1", mgmt::HookHost{"h1", 1, "z"}));
    }
    CHECK(Clock::now() - start < 100ms);
    // One runs, four wait, two are dropped.
    CHECK(metrics.hook_events_dropped.load() == 2);
    // The runner's own thread did not block on the write: the timeout fired.
    CHECK(wait_until([&] { return metrics.hook_runs_timeout.load() >= 1; }, 4s));
    const auto stop_start = Clock::now();
    runner.stop();
    CHECK(Clock::now() - stop_start < 3s);  // bounded by the hook timeout (1 s) here
    CHECK(metrics.hook_runs_ok.load() == 0);
}

TEST_CASE("a hook gets argv EVENT and the server's environment without the store's password") {
    TempDir dir;
    const auto out = dir.path() / "env.txt";
    const auto hook = write_script(
        dir.path(),
        "env.sh",
        "cat > /dev/null\necho \"argv $#: $1\" > '" + out.string() + "'\nenv >> '" + out.string() + "'\n");
    ::setenv("AGENTLB_DB", "postgresql://agentlb:secret1@db1/agentlb", 1);
    ::setenv("PGPASSWORD", "secret2", 1);
    ::setenv("AGENTLB_HOOK_TEST_MARK", "kept", 1);
    mgmt::Metrics metrics;
    {
        mgmt::HookRunner runner(mgmt::HookSettings{hook, 1, 5s, 4}, metrics);
        runner.post(mgmt::server_hook_event(mgmt::kHookServerUp, "ms1", "ms1", "up", "started"));
        CHECK(wait_until([&] { return metrics.hook_runs_ok.load() == 1; }, 5s));
    }
    ::unsetenv("AGENTLB_DB");
    ::unsetenv("PGPASSWORD");
    ::unsetenv("AGENTLB_HOOK_TEST_MARK");
    const auto text = file_text(out);
    CHECK_THAT(text, Catch::StartsWith("argv 1: server.up\n"));
    CHECK_THAT(text, Catch::Contains("AGENTLB_HOOK_TEST_MARK=kept"));
    CHECK_THAT(text, !Catch::Contains("secret1"));
    CHECK_THAT(text, !Catch::Contains("secret2"));
}
