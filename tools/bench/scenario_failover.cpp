// The failover scenario: the busiest server is killed; time until its agents
// are back on the others, and what that costs the survivors.

#include "tools/bench/fleet.hpp"
#include "tools/bench/phase_figures.hpp"
#include "tools/bench/proc_stats.hpp"
#include "tools/bench/report.hpp"
#include "tools/bench/scenario_support.hpp"
#include "tools/bench/scenarios.hpp"

#include <fmt/format.h>

#include <csignal>

namespace agentlb::bench {

using nlohmann::json;

namespace {

// Issue 17's target (the first benchmark's was 5 s, without resumption).
constexpr double kFailoverTargetS = 1.5;
constexpr double kResumedShareTarget = 0.9;

}  // namespace

Status run_failover(RunContext& run) {
    const auto& o = run.options();
    const std::string load_before = load_average();
    auto armed = broadcast_all(run, "failover", json{{"cmd", "arm_failover"}}, std::chrono::seconds(30));
    if (!armed) {
        return fail(armed.error());
    }
    const auto before = per_server(*armed, run.servers().size());
    // The victim: the server holding the most agents.
    std::size_t victim = 0;
    for (std::size_t i = 1; i < before.size(); ++i) {
        if (before[i] > before[victim]) {
            victim = i;
        }
    }
    auto& process = *run.servers()[victim];
    const auto cpu_before = server_cpu(run);
    const auto threads_before = server_threads(run);
    const double client_cpu_before = worker_cpu(run);
    const std::int64_t t0 = steady_ns();
    process.kill(SIGKILL);
    const auto wait = std::chrono::seconds(o.failover_timeout_seconds);
    auto replies = broadcast_all(
        run,
        "failover",
        json{{"cmd", "collect_failover"},
             {"timeout_ms", std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()},
             {"settle_ms", 500}},
        wait + std::chrono::seconds(30));
    if (!replies) {
        return fail(replies.error());
    }
    (void)process.wait(std::chrono::seconds(5));
    auto cpu_after = server_cpu(run);
    auto threads_after = server_threads(run);
    threads_after[victim] = threads_before[victim];
    const json threads = thread_delta_json(run, threads_before, threads_after);
    cpu_after[victim] = cpu_before[victim];  // gone: /proc has nothing more to say
    const double server_cpu_s = total_delta(cpu_before, cpu_after);
    const double client_cpu_s = worker_cpu(run) - client_cpu_before;
    const auto after = per_server(*replies, run.servers().size());
    std::vector<double> back_s;
    std::size_t lost = 0;
    std::size_t back = 0;
    for (const auto& reply : *replies) {
        const auto& lost_ns = reply.at("lost_ns");
        const auto& back_ns = reply.at("back_ns");
        lost += lost_ns.size();
        for (const auto& ns : back_ns) {
            const std::int64_t value = ns.get<std::int64_t>();
            if (value != 0) {
                ++back;
                back_s.push_back(static_cast<double>(value - t0) / 1e9);
            }
        }
    }
    const std::size_t connected = sum_of(*replies, "connected");
    const std::size_t resumed = sum_of(*replies, "back_resumed");
    const double resumed_share = back > 0 ? static_cast<double>(resumed) / static_cast<double>(back) : 0;
    std::vector<nlohmann::json> tries;
    for (const auto& reply : *replies) {
        tries.push_back(reply.at("reconnections"));
    }
    const PhaseFigures attempts = merge_phase(tries, run.servers().size());
    const auto d = distribution(back_s);
    const bool none_lost = back == lost && connected == o.agents;
    json summary = common_summary(run, "failover");
    summary["load_before"] = load_before;
    summary["killed"] = process.spec().name;
    summary["agents_on_killed"] = before[victim];
    summary["per_server_before"] = per_server_json(run, before);
    summary["lost"] = lost;
    summary["reconnected"] = back;
    summary["connected_after"] = connected;
    summary["no_agent_lost"] = none_lost;
    summary["reconnect_s"] = to_json(d);
    summary["all_reconnected_s"] = d.max;
    summary["per_server_after"] = per_server_json(run, after);
    summary["surviving_servers_cpu_s"] = server_cpu_s;
    summary["server_thread_cpu_s"] = threads;
    summary["bench_client_cpu_s"] = client_cpu_s;
    summary["resumed"] = resumed;
    summary["resumed_share"] = resumed_share;
    summary["reconnect_attempts"] = attempts.attempts;
    summary["reconnect_failures"] = failures_json(attempts.failures);
    summary["handshake_timeouts"] = timeouts_of(attempts.failures);
    summary["pushed_back"] = attempts.pushed_back;
    summary["target_s"] = kFailoverTargetS;
    summary["resumed_share_target"] = kResumedShareTarget;
    summary["target_met"] =
        none_lost && lost > 0 && d.max <= kFailoverTargetS && resumed_share >= kResumedShareTarget;
    emit(
        summary,
        "failover",
        {{"killed (SIGKILL)", process.spec().name + fmt::format(" holding {} agents", before[victim])},
         {"sessions lost / reconnected", fmt::format("{} / {}", lost, back)},
         {"reconnect p50 / p99", fmt::format("{:.3f} / {:.3f} s", d.p50, d.p99)},
         {"all reconnected after (target <= 1.5 s)", fixed(d.max, 3) + " s"},
         {"resumed (target >= 90 %)", fmt::format("{} of {} ({:.1f} %)", resumed, back, resumed_share * 100)},
         {"attempts / timeouts / pushed back",
          fmt::format("{} / {} / {} ({})",
                      attempts.attempts,
                      timeouts_of(attempts.failures),
                      attempts.pushed_back,
                      failures_text(attempts.failures))},
         {"agents connected after", fmt::format("{} of {}", connected, o.agents)},
         {"CPU of the surviving servers",
          fixed(server_cpu_s, 2) + " s (bench client: " + fixed(client_cpu_s, 2) + " s)"},
         {"CPU per thread (main, store, I/O...)", thread_delta_text(threads)},
         {"per server before", per_server_text(run, before)},
         {"per server after", per_server_text(run, after)},
         {"load average", load_before + " -> " + load_average()}});
    return success();
}

}  // namespace agentlb::bench
