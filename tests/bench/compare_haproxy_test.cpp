// tools/compare_haproxy.sh at a few agents (issue 18): the HAProxy run and
// agentlb's own run both end by themselves, and every figure they report is
// present and adds up. No figure is compared with a target or with the other
// run here: that is docs/BENCHMARKS.md's job, at 300 agents.

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using agentlb::test::run_command;
using agentlb::test::TempDir;
using nlohmann::json;

constexpr int kAgents = 12;
constexpr int kReturnSeconds = 3;
// The script's exit code when HAProxy cannot be installed.
constexpr int kNoHaproxy = 77;

std::size_t sum(const json& per_server) {
    std::size_t total = 0;
    for (const auto& [name, count] : per_server.items()) {
        total += count.get<std::size_t>();
    }
    return total;
}

void check_distribution(const json& d) {
    CHECK(d.at("count").get<std::size_t>() > 0);
    CHECK(d.at("min").get<double>() > 0);
    CHECK(d.at("min").get<double>() <= d.at("p50").get<double>());
    CHECK(d.at("p50").get<double>() <= d.at("p99").get<double>());
    CHECK(d.at("p99").get<double>() <= d.at("max").get<double>());
}

void check_run(const json& s) {
    INFO(s.dump());
    CHECK(s.at("agents").get<int>() == kAgents);
    CHECK(s.at("servers").get<int>() == 3);
    CHECK(s.at("pongs").get<std::size_t>() > 0);
    check_distribution(s.at("rtt_ms"));

    const std::string killed = s.at("killed");
    const auto& before = s.at("per_server_before");
    REQUIRE(before.size() == 3);
    CHECK(sum(before) == kAgents);
    for (const auto& [name, count] : before.items()) {
        CHECK(count.get<std::size_t>() <= before.at(killed).get<std::size_t>());  // the busiest was killed
    }

    // Exactly the killed server's agents lost their session, and all came back.
    CHECK(s.at("lost").get<std::size_t>() == before.at(killed).get<std::size_t>());
    CHECK(s.at("reconnected") == s.at("lost"));
    CHECK(s.at("no_agent_lost").get<bool>());
    CHECK(s.at("connected_after_failure").get<int>() == kAgents);
    check_distribution(s.at("reconnect_s"));
    CHECK(s.at("all_reconnected_s") == s.at("reconnect_s").at("max"));
    // Every agent that came back took at least one attempt, and so did each failure (counted by reason).
    std::size_t failed = 0;
    for (const auto& [reason, count] : s.at("reconnect_failures").items()) {
        failed += count.get<std::size_t>();
    }
    CHECK(s.at("reconnect_attempts").get<std::size_t>() >= s.at("reconnected").get<std::size_t>() + failed);

    const auto& after_failure = s.at("per_server_after_failure");
    CHECK(sum(after_failure) == kAgents);
    CHECK(after_failure.at(killed).get<int>() == 0);
    CHECK(s.at("imbalance_after_failure").get<double>() >= 1.0);

    const auto& after_return = s.at("per_server_after_return");
    CHECK(sum(after_return) == kAgents);
    CHECK(s.at("returned_server_agents") == after_return.at(killed));
    CHECK(s.at("imbalance_after_return").get<double>() >= 1.0);
    CHECK(s.at("fair_share").get<double>() == Approx(kAgents / 3.0));
    CHECK(s.at("return_seconds").get<int>() == kReturnSeconds);
    if (!s.at("refilled_s").is_null()) {
        CHECK(s.at("refilled_s").get<double>() >= 0);
        CHECK(s.at("refilled_s").get<double>() <= kReturnSeconds + 1);
    }
    CHECK(s.at("moved_after_return").is_number_unsigned());
    CHECK(s.at("connected_after_return").get<int>() == kAgents);
}

}  // namespace

TEST_CASE("compare_haproxy.sh reports every figure through HAProxy and through agentlb's lists") {
    TempDir dir;
    const auto result = run_command({"/bin/bash",
                                     AGENTLB_COMPARE_SCRIPT,
                                     "--agents",
                                     std::to_string(kAgents),
                                     "--bin-dir",
                                     AGENTLB_BENCH_BIN_DIR,
                                     "--work-dir",
                                     (dir / "work").string(),
                                     "--steady-seconds",
                                     "2",
                                     "--return-seconds",
                                     std::to_string(kReturnSeconds),
                                     "--timeout",
                                     "90",
                                     "--runs",
                                     "haproxy,agentlb-hash"},
                                    std::chrono::seconds(240));
    if (result.exit_code == kNoHaproxy) {
        std::cout << "AGENTLB_TEST_SKIPPED: HAProxy cannot be installed here: " << result.err << '\n';
        return;
    }
    INFO("stderr: " << result.err);
    REQUIRE(result.exit_code == 0);
    std::vector<json> runs;
    std::istringstream lines(result.out);
    std::string line;
    while (std::getline(lines, line)) {
        if (!line.empty() && line.front() == '{') {
            runs.push_back(json::parse(line));
        }
    }
    REQUIRE(runs.size() == 2);
    for (const auto& run : runs) {
        CHECK(run.at("scenario") == "kill-return");
        check_run(run);
    }
    CHECK(runs[0].at("mode") == "haproxy");
    CHECK(runs[0].at("through").get<std::string>().rfind("127.0.0.1:", 0) == 0);
    CHECK(runs[0].at("settings").at("agentlb.rebalance.behaviour") == "off");
    CHECK(runs[0].at("algorithm") == "roundrobin");
    CHECK(runs[1].at("mode") == "agentlb");
    CHECK(runs[1].at("through") == "agentlb lists");
    CHECK(runs[1].at("settings").at("agentlb.rebalance.behaviour") == "aggressive");
    CHECK(runs[1].at("algorithm") == "hash");
}
