// The steady scenario: connected agents heartbeat for a while; server CPU and
// ping round trips.

#include "tools/bench/proc_stats.hpp"
#include "tools/bench/report.hpp"
#include "tools/bench/scenario_support.hpp"
#include "tools/bench/scenarios.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

namespace agentlb::bench {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

Status run_steady(RunContext& run) {
    const auto& o = run.options();
    const std::string load_before = load_average();
    auto armed = broadcast_all(run, "steady", json{{"cmd", "arm_steady"}}, std::chrono::seconds(30));
    if (!armed) {
        return fail(armed.error());
    }
    const auto cpu_before = server_cpu(run);
    const auto start = Clock::now();
    std::this_thread::sleep_until(
        std::min(start + std::chrono::seconds(o.steady_seconds), run.run_deadline()));
    const auto cpu_after = server_cpu(run);
    const std::chrono::duration<double> wall = Clock::now() - start;
    auto replies = broadcast_all(run, "steady", json{{"cmd", "collect_steady"}}, std::chrono::seconds(60));
    if (!replies) {
        return fail(replies.error());
    }
    std::vector<double> rtt_ms;
    for (const auto& reply : *replies) {
        for (const auto& us : reply.at("rtt_us")) {
            rtt_ms.push_back(us.get<double>() / 1000.0);
        }
    }
    const auto d = distribution(rtt_ms);
    json cpu = json::object();
    Rows rows;
    const std::size_t connected = sum_of(*replies, "connected");
    rows.emplace_back("agents connected", fmt::format("{} of {}", connected, o.agents));
    rows.emplace_back("duration", fixed(wall.count(), 1) + " s");
    for (std::size_t i = 0; i < run.servers().size(); ++i) {
        const double percent = (cpu_after[i] - cpu_before[i]) / wall.count() * 100.0;
        cpu[run.servers()[i]->spec().name] = percent;
        rows.emplace_back("CPU " + run.servers()[i]->spec().name, fixed(percent, 1) + " % of one core");
    }
    rows.emplace_back("pings / pongs",
                      fmt::format("{} / {}", sum_of(*replies, "pings"), sum_of(*replies, "pongs")));
    rows.emplace_back("ping RTT p50 / p99 / max",
                      fmt::format("{:.2f} / {:.2f} / {:.2f} ms", d.p50, d.p99, d.max));
    rows.emplace_back("sessions lost", std::to_string(sum_of(*replies, "losses")));
    rows.emplace_back("load average", load_before + " -> " + load_average());
    json summary = common_summary(run, "steady");
    summary["load_before"] = load_before;
    summary["seconds"] = wall.count();
    summary["connected"] = connected;
    summary["server_cpu_percent"] = cpu;
    summary["pings"] = sum_of(*replies, "pings");
    summary["pongs"] = sum_of(*replies, "pongs");
    summary["losses"] = sum_of(*replies, "losses");
    summary["rtt_ms"] = to_json(d);
    emit(summary, "steady", rows);
    return success();
}

}  // namespace agentlb::bench
