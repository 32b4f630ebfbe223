// agentlb-agent --metrics-file against real management servers: the file
// node_exporter's textfile collector reads passes promtool check metrics,
// names the server the agent is on, follows a failover, says "not connected"
// after a stop, and a path that cannot work stops the agent at start.

#include "common/util/atomic_file.hpp"
#include "tests/agent/agent_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <ctime>
#include <fstream>
#include <regex>
#include <signal.h>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

std::string read_or_empty(const std::filesystem::path& path) {
    auto text = util::read_file(path);
    return text ? *text : std::string();
}

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

// The value of the sample line that starts with `series` (name and labels).
std::optional<double> sample(const std::string& text, const std::string& series) {
    const auto at = ("\n" + text).find("\n" + series + " ");
    if (at == std::string::npos) {
        return std::nullopt;
    }
    return std::stod(text.substr(at + series.size() + 1));
}

// The agent's names in tools/monitoring/metric-names.txt: the contract with
// the alert rules and the dashboard.
std::vector<std::string> listed_agent_names() {
    std::ifstream in(AGENTLB_MONITORING_DIR "/metric-names.txt");
    REQUIRE(in.good());
    std::vector<std::string> names;
    bool in_agent_section = false;
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("# agentlb-agent", 0) == 0) {
            in_agent_section = true;
        } else if (line.rfind("# ", 0) == 0) {
            in_agent_section = false;
        } else if (in_agent_section && !line.empty()) {
            names.push_back(line.substr(0, line.find(' ')));
        }
    }
    return names;
}

std::string promtool_complaints(const std::filesystem::path& file) {
    const auto checked = run_command({"/bin/sh", "-c", "promtool check metrics < \"$0\"", file.string()});
    if (checked.exit_code == 127) {
        FAIL("promtool not found: install the Debian package prometheus (tools/deps.sh)");
    }
    return checked.exit_code == 0
               ? checked.out + checked.err
               : "exit " + std::to_string(checked.exit_code) + ": " + checked.out + checked.err;
}

}  // namespace

TEST_CASE("metrics file: names the server, passes promtool and follows a failover") {
    CaFixture fixture;
    TempDir root;
    ManagedServer ms1(fixture, "ms1", "127.0.0.1");
    ManagedServer ms2(fixture, "ms2", "127.0.0.2");
    fixture.set_config("host", ms1.address() + "," + ms2.address());
    fixture.set_config("indirect.agent.lb.algorithm", "static");
    ms1.start();
    ms2.start();
    AgentProcess agent(root, "h1");
    const auto file = agent.dir() / "agentlb-agent.prom";
    agent.start_enrolling(fixture, ms1, {"--metrics-file", file.string()});
    const auto logs = [&] { return tail(agent.log()) + "\n--- file\n" + read_or_empty(file); };

    const std::string on_ms1 = "agentlb_agent_server_info{server=\"" + ms1.address() + "\",position=\"1\"} 1";
    const bool connected = wait_until([&] { return has_line(read_or_empty(file), on_ms1); }, 15s);
    INFO(logs());
    REQUIRE(connected);
    std::string text = read_or_empty(file);
    CHECK(has_line(text, "agentlb_agent_connected 1"));
    CHECK(has_line(text, "agentlb_agent_failovers_total 0"));
    const auto now = static_cast<double>(std::time(nullptr));
    CHECK(sample(text, "agentlb_agent_certificate_not_after_seconds").value_or(0) > now + 86400);
    CHECK(sample(text, "agentlb_agent_list_changed_timestamp_seconds").value_or(0) > now - 60);
    CHECK(sample(text, "agentlb_agent_last_write_timestamp_seconds").value_or(0) > now - 60);
    CHECK(std::regex_search(
        text, std::regex(R"(\nagentlb_agent_build_info\{version="[^"]+",openssl="3\.[^"]+"\} 1\n)")));
    for (const auto& name : listed_agent_names()) {
        INFO(name << " is listed in tools/monitoring/metric-names.txt");
        CHECK(text.find("\n" + name) != std::string::npos);
    }
    CHECK(promtool_complaints(file) == "");

    ms1.kill();
    const std::string on_ms2 = "agentlb_agent_server_info{server=\"" + ms2.address() + "\",position=\"2\"} 1";
    const bool failed_over = wait_until(
        [&] {
            const auto now_text = read_or_empty(file);
            return has_line(now_text, on_ms2) && has_line(now_text, "agentlb_agent_failovers_total 1");
        },
        10s);
    INFO(logs());
    REQUIRE(failed_over);
    text = read_or_empty(file);
    CHECK(has_line(text, "agentlb_agent_connected 1"));
    CHECK(text.find(ms1.address()) == std::string::npos);
    CHECK(promtool_complaints(file) == "");
    // Every write replaced the file whole: no temporary file is left beside it.
    for (const auto& entry : std::filesystem::directory_iterator(agent.dir())) {
        INFO(entry.path());
        CHECK(entry.path().filename().string().find(".agentlb-agent.prom.tmp") == std::string::npos);
    }

    agent.kill(SIGTERM);
    REQUIRE(agent.wait(10s) == std::optional<int>(0));
    text = read_or_empty(file);
    INFO(text);
    CHECK(has_line(text, "agentlb_agent_connected 0"));
    CHECK(text.find("agentlb_agent_server_info{") == std::string::npos);
    CHECK(has_line(text, "agentlb_agent_failovers_total 1"));
}

TEST_CASE("metrics file: rewritten periodically while nothing changes, so its age shows the agent lives") {
    CaFixture fixture;
    TempDir root;
    ManagedServer ms1(fixture, "ms1", "127.0.0.1");
    fixture.set_config("host", ms1.address());
    ms1.start();
    AgentProcess agent(root, "h1");
    const auto file = agent.dir() / "agentlb-agent.prom";
    agent.start_enrolling(fixture, ms1, {"--metrics-file", file.string(), "--metrics-interval-ms", "300"});
    const auto written_at = [&] {
        return sample(read_or_empty(file), "agentlb_agent_last_write_timestamp_seconds").value_or(0);
    };
    REQUIRE(wait_until([&] { return has_line(read_or_empty(file), "agentlb_agent_connected 1"); }, 15s));
    const double first = written_at();
    // Three periods later, without any change, the file was written again.
    const bool rewritten = wait_until([&] { return written_at() > first + 0.5; }, 5s);
    INFO(tail(agent.log()));
    CHECK(rewritten);
    CHECK(has_line(read_or_empty(file), "agentlb_agent_connected 1"));
}

TEST_CASE("metrics file: a path that cannot be written stops the agent at start") {
    TempDir root;
    AgentProcess agent(root, "h1");
    std::filesystem::path bad;
    std::string reason;
    SECTION("missing folder") {
        bad = root / "no-such-folder" / "agentlb-agent.prom";
        reason = "No such file or directory";
    }
    SECTION("a folder") {
        bad = root.path();
        reason = "is a folder";
    }
    agent.start({"--metrics-file", bad.string()});
    const auto code = agent.wait(10s);
    INFO(agent.log());
    REQUIRE(code == std::optional<int>(2));
    CHECK_THAT(agent.log(), Catch::Matchers::Contains("--metrics-file"));
    CHECK_THAT(agent.log(), Catch::Matchers::Contains(bad.string()));
    CHECK_THAT(agent.log(), Catch::Matchers::Contains(reason));
}
