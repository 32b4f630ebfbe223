// The propagate scenario: a configuration change in the store, timed until every
// connected agent acknowledged the pushed list.

#include "common/lb/config_keys.hpp"
#include "tools/bench/fleet.hpp"
#include "tools/bench/proc_stats.hpp"
#include "tools/bench/report.hpp"
#include "tools/bench/scenario_support.hpp"
#include "tools/bench/scenarios.hpp"

#include <fmt/format.h>

namespace agentlb::bench {

using nlohmann::json;

namespace {

constexpr double kPropagateTargetMs = 1000;

}  // namespace

Status run_propagate(RunContext& run) {
    const auto& o = run.options();
    const std::string load_before = load_average();
    auto armed = broadcast_all(run, "propagate", json{{"cmd", "arm_push"}}, std::chrono::seconds(30));
    if (!armed) {
        return fail(armed.error());
    }
    const std::size_t connected = sum_of(*armed, "connected");
    const auto cpu_before = server_cpu(run);
    const double client_cpu_before = worker_cpu(run);
    std::string value;
    try {
        const auto current = run.store().get_config(lb::kCheckIntervalKey);
        value = current && *current == "300" ? "600" : "300";
    } catch (const store::StoreError& e) {
        return fail(std::string("propagate: ") + e.what());
    }
    std::int64_t t0 = 0;
    try {
        auto stored = run.store().set_config(lb::kCheckIntervalKey, value);
        // The change is visible in the store once the commit returned.
        t0 = steady_ns();
        if (!stored) {
            return fail("propagate: " + stored.error());
        }
    } catch (const store::StoreError& e) {
        return fail(std::string("propagate: ") + e.what());
    }
    const auto wait = std::chrono::seconds(o.propagate_timeout_seconds);
    auto replies = broadcast_all(
        run,
        "propagate",
        json{{"cmd", "collect_push"},
             {"timeout_ms", std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()}},
        wait + std::chrono::seconds(30));
    if (!replies) {
        return fail(replies.error());
    }
    const double server_cpu_s = total_delta(cpu_before, server_cpu(run));
    const double client_cpu_s = worker_cpu(run) - client_cpu_before;
    std::vector<double> latency_ms;
    std::size_t expected = 0;
    for (const auto& reply : *replies) {
        expected += reply.at("expected").get<std::size_t>();
        for (const auto& ns : reply.at("push_ns")) {
            latency_ms.push_back(static_cast<double>(ns.get<std::int64_t>() - t0) / 1e6);
        }
    }
    const auto d = distribution(latency_ms);
    const bool all = d.count == expected && expected == connected && connected > 0;
    json summary = common_summary(run, "propagate");
    summary["load_before"] = load_before;
    summary["key"] = std::string(lb::kCheckIntervalKey);
    summary["value"] = value;
    summary["connected"] = connected;
    summary["expected_acks"] = expected;
    summary["acks"] = d.count;
    summary["all_acked"] = all;
    summary["first_ack_ms"] = d.min;
    summary["ack_ms"] = to_json(d);
    summary["last_ack_ms"] = d.max;
    summary["server_cpu_s"] = server_cpu_s;
    summary["server_cpu_us_per_push"] = d.count > 0 ? server_cpu_s * 1e6 / static_cast<double>(d.count) : 0.0;
    summary["bench_client_cpu_s"] = client_cpu_s;
    summary["target_ms"] = kPropagateTargetMs;
    summary["target_met"] = all && d.max <= kPropagateTargetMs;
    emit(
        summary,
        "propagate",
        {{"change", std::string(lb::kCheckIntervalKey) + " = " + value},
         {"agents connected / acked", fmt::format("{} / {}", connected, d.count)},
         {"first ack", fixed(d.min, 1) + " ms after the commit"},
         {"p50 / p99", fmt::format("{:.1f} / {:.1f} ms", d.p50, d.p99)},
         {"last ack (target <= 1000 ms)", fixed(d.max, 1) + " ms"},
         {"server CPU (until the last ack + collection)",
          fixed(server_cpu_s, 2) + " s, " +
              fixed(d.count > 0 ? server_cpu_s * 1e6 / static_cast<double>(d.count) : 0, 1) + " us per push"},
         {"bench client CPU", fixed(client_cpu_s, 2) + " s"},
         {"load average", load_before + " -> " + load_average()}});
    return success();
}

}  // namespace agentlb::bench
