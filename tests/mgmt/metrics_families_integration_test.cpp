// The issue-18 families on a real cluster's /metrics: three agentlb-mgmt
// servers and three agents (tests/support/three_servers.hpp), every family
// present with values that match what happened (handshakes done, an agent
// killed, a server killed), and `promtool check metrics` clean.

#include "common/util/atomic_file.hpp"
#include "tests/support/net_probe.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/three_servers.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <ctime>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kAgents = 3;

double value_of(const std::string& text, const std::string& sample) {
    return metric_value(text, sample).value_or(-1);
}

bool promtool_installed() {
    return run_command({"/bin/sh", "-c", "command -v promtool"}).exit_code == 0;
}

// promtool's complaints about `text` ("" when clean).
std::string promtool_check(const std::string& text) {
    TempDir dir;
    const auto file = (dir / "metrics.txt").string();
    if (!util::write_file_atomically(file, text).ok()) {
        return "cannot write " + file;
    }
    const auto checked = run_command({"/bin/sh", "-c", "promtool check metrics < \"$0\"", file});
    return checked.exit_code == 0
               ? checked.out + checked.err
               : "exit " + std::to_string(checked.exit_code) + ": " + checked.out + checked.err;
}

}  // namespace

TEST_CASE("a real server's /metrics holds every issue-18 family with sane values") {
    if (!promtool_installed()) {
        std::printf(
            "AGENTLB_TEST_SKIPPED: promtool check metrics: promtool is not installed (Debian: prometheus)\n");
        return;
    }
    // "static": every agent on ms1, the first of its list.
    ThreeServersOptions options;
    options.agents = kAgents;
    ThreeServers cluster(options);
    REQUIRE(cluster.wait_all_connected(30s));
    auto& ms1 = cluster.server(0);
    auto& ms2 = cluster.server(1);

    std::string text;
    const bool exported = wait_until(
        [&] {
            text = ms1.metrics_text();
            return value_of(text, "agentlb_hosts_connected") == kAgents;
        },
        5s,
        100ms);
    INFO(cluster.layout() << "\n" << text);
    REQUIRE(exported);

    // process_*: this very process, now.
    CHECK(value_of(text, "process_open_fds") > 0);
    CHECK(value_of(text, "process_max_fds") >= value_of(text, "process_open_fds"));
    CHECK(value_of(text, "process_resident_memory_bytes") > 1e6);
    CHECK(value_of(text, "process_virtual_memory_bytes") >= value_of(text, "process_resident_memory_bytes"));
    CHECK(value_of(text, "process_cpu_seconds_total") >= 0);
    const auto now = static_cast<double>(std::time(nullptr));
    CHECK(value_of(text, "process_start_time_seconds") > now - 120);
    CHECK(value_of(text, "process_start_time_seconds") <= now + 1);
    CHECK(value_of(text, "agentlb_build_info{version=\"0.1.0\"}") == 1);
    CHECK_THAT(text, Catch::Contains("openssl=\"3."));

    // One histogram observation per handshake done: every agent is here.
    const auto handshakes = value_of(text, "agentlb_handshakes_total{result=\"ok\"}");
    CHECK(handshakes >= kAgents);
    CHECK(value_of(text, "agentlb_handshake_duration_seconds_count") == handshakes);
    CHECK(value_of(text, "agentlb_handshake_duration_seconds_bucket{le=\"+Inf\"}") == handshakes);
    CHECK(value_of(text, "agentlb_handshake_duration_seconds_sum") > 0);

    // The store: heartbeats and the agents' connection records, timed, no error.
    CHECK(value_of(text, "agentlb_store_operation_duration_seconds_count{operation=\"heartbeat_server\"}") >
          0);
    CHECK(value_of(
              text,
              "agentlb_store_operation_duration_seconds_count{operation=\"apply_connection_changes\"}") >= 1);
    CHECK(value_of(text, "agentlb_store_errors_total{operation=\"heartbeat_server\"}") == 0);
    CHECK(value_of(text, "agentlb_store_errors_total") == 0);

    CHECK(value_of(text, "agentlb_sessions_ended_total") == 0);
    CHECK(value_of(text, "agentlb_failovers_observed_total") == 0);

    // Exporter-only: ms1 (the lowest-named up) shows the cluster; ms2 does not.
    CHECK(value_of(text, "agentlb_cluster_servers{state=\"up\"}") == 3);
    CHECK(value_of(text, "agentlb_cluster_servers{state=\"down\"}") == 0);
    CHECK(value_of(text, "agentlb_hosts_registered") == kAgents);
    const auto other = ms2.metrics_text();
    CHECK_THAT(other, !Catch::Contains("agentlb_cluster_servers"));
    CHECK_THAT(other, !Catch::Contains("agentlb_hosts_registered"));
    CHECK_THAT(other, !Catch::Contains("agentlb_hosts_connected"));
    CHECK(value_of(other, "process_open_fds") > 0);  // the per-server families are everywhere

    CHECK(promtool_check(text) == "");
    CHECK(promtool_check(other) == "");

    // An agent killed: its session ends as closed by the agent, and the
    // exporter counts one host fewer connected (still registered).
    cluster.agent(0).kill(SIGKILL);
    const bool ended = wait_until(
        [&] {
            text = ms1.metrics_text();
            return value_of(text, "agentlb_sessions_ended_total{reason=\"agent_closed\"}") == 1 &&
                   value_of(text, "agentlb_hosts_connected") == kAgents - 1;
        },
        10s,
        100ms);
    INFO(text);
    CHECK(ended);
    CHECK(value_of(text, "agentlb_sessions_ended_total") == 1);
    CHECK(value_of(text, "agentlb_hosts_registered") == kAgents);

    // ms1 killed: its two agents fail over to ms2, which counts them once ms1
    // is judged down, and takes over the cluster series.
    ms1.signal(SIGKILL);
    REQUIRE(ms1.wait(5s));
    const bool failed_over = wait_until(
        [&] {
            text = ms2.metrics_text();
            return value_of(text, "agentlb_failovers_observed_total") == kAgents - 1 &&
                   value_of(text, "agentlb_cluster_servers{state=\"down\"}") == 1;
        },
        20s,
        200ms);
    INFO(cluster.layout() << "\n" << text);
    CHECK(failed_over);
    CHECK(value_of(cluster.server(2).metrics_text(), "agentlb_failovers_observed_total") == 0);
    CHECK(value_of(text, "agentlb_cluster_servers{state=\"up\"}") == 2);
    CHECK(value_of(text, "agentlb_hosts_connected") == kAgents - 1);
    CHECK(promtool_check(text) == "");

    // The status page's events list each failover with the host and where it came from.
    const auto events = nlohmann::json::parse(http_get(ms2.admin_port(), "/v1/events").body);
    std::size_t failovers = 0;
    for (const auto& event : events.at("events")) {
        if (event.at("kind") == "agent.failover") {
            ++failovers;
            CHECK(event.at("peer") == "ms1");
            CHECK(event.at("reason") == "server_down");
            CHECK_FALSE(event.at("host").get<std::string>().empty());
        }
    }
    INFO(events.dump(2));
    CHECK(failovers == kAgents - 1);
}
