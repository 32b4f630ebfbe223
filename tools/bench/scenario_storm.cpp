// The storm scenario: every agent is on server A of two and holds the list
// [A, B] (algorithm static); A is SIGKILLed and all of them reconnect to B at
// once. The time until the last is back is compared with what B's handshake
// rates, measured earlier in the same run, need for the same mix of full and
// resumed handshakes; timeouts, push-backs and losses are counted.

#include "tools/bench/fleet.hpp"
#include "tools/bench/mgmt_process.hpp"
#include "tools/bench/phase_figures.hpp"
#include "tools/bench/proc_stats.hpp"
#include "tools/bench/report.hpp"
#include "tools/bench/scenario_support.hpp"
#include "tools/bench/scenarios.hpp"
#include "tools/bench/server_kill.hpp"

#include <fmt/format.h>

#include <optional>
#include <thread>

namespace agentlb::bench {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr double kRatioTarget = 1.2;

// A counter of B's /metrics (labels included in `name`), if it has it.
std::optional<double> server_metric(MgmtProcess& server, const std::string& name) {
    auto text = http_get(server.spec().admin_port, "/metrics", std::chrono::seconds(2));
    return text ? metric_value(*text, name) : std::nullopt;
}

json optional_json(std::optional<double> value) {
    return value ? json(*value) : json(nullptr);
}

std::string optional_text(std::optional<double> value) {
    return value ? fixed(*value, 0) : std::string("(no such metric)");
}

// Waits (at most `wait`) until every connected agent holds a ticket, so the
// storm starts from the state a fleet reaches seconds after connecting.
Result<std::size_t> wait_for_tickets(RunContext& run, std::chrono::seconds wait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
        auto replies = broadcast_all(run, "storm", json{{"cmd", "status"}}, std::chrono::seconds(30));
        if (!replies) {
            return fail(replies.error());
        }
        const std::size_t holding = sum_of(*replies, "holding_ticket");
        if (holding >= sum_of(*replies, "connected") || Clock::now() >= deadline) {
            return holding;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

}  // namespace

Status run_storm(RunContext& run) {
    const auto& o = run.options();
    const std::string load_before = load_average();
    if (!run.rates().resumption_measured && o.resume_sample > 0) {
        // connect was not asked for: take the resumed rate here, on A.
        auto sample = measure_resumption(run, o.resume_sample, std::chrono::seconds(120));
        if (!sample) {
            return fail("storm " + sample.error());
        }
        run.set_resumption(sample->figures.resumed, sample->resumed_per_s(), sample->resumed_per_cpu_s());
    }
    const MeasuredRates rates = run.rates();
    auto holding = wait_for_tickets(run, std::chrono::seconds(5));
    if (!holding) {
        return fail(holding.error());
    }
    auto armed = broadcast_all(run, "storm", json{{"cmd", "arm_failover"}}, std::chrono::seconds(30));
    if (!armed) {
        return fail(armed.error());
    }
    const auto before = per_server(*armed, run.servers().size());
    auto& a = *run.servers()[0];
    auto& b = *run.servers()[1];
    const std::string pushed_metric = "agentlb_handshake_admissions_total{result=\"pushed_back\"}";
    const auto pushed_before = server_metric(b, pushed_metric);
    auto killed = kill_and_collect(run, 0, "storm", std::chrono::seconds(o.failover_timeout_seconds));
    if (!killed) {
        return fail(killed.error());
    }
    const auto& k = *killed;
    const double b_cpu_s = k.cpu_after[1] - k.cpu_before[1];
    const json& threads = k.threads;
    const double client_cpu_s = k.client_cpu_s;
    const auto pushed_after = server_metric(b, pushed_metric);
    const std::size_t lost = k.lost;
    std::vector<double> back_s = k.back_s;  // distribution() sorts it
    const std::size_t back = back_s.size();
    const PhaseFigures& attempts = k.attempts;
    const std::size_t resumed = k.resumed;
    const std::size_t full = back - resumed;
    const std::size_t connected = k.connected;
    const auto after = per_server(k.replies, run.servers().size());
    const auto d = distribution(back_s);
    const std::size_t timeouts = timeouts_of(attempts.failures);
    const bool none_lost = back == lost && connected == o.agents;

    // What B's measured rates need for this mix; unknown when a rate is missing.
    std::optional<double> expected_s;
    if ((full == 0 || rates.full_per_s > 0) && (resumed == 0 || rates.resumed_per_s > 0)) {
        expected_s = (full > 0 ? static_cast<double>(full) / rates.full_per_s : 0.0) +
                     (resumed > 0 ? static_cast<double>(resumed) / rates.resumed_per_s : 0.0);
    }
    std::optional<double> expected_cpu_s;
    if ((full == 0 || rates.full_per_cpu_s > 0) && (resumed == 0 || rates.resumed_per_cpu_s > 0)) {
        expected_cpu_s = (full > 0 ? static_cast<double>(full) / rates.full_per_cpu_s : 0.0) +
                         (resumed > 0 ? static_cast<double>(resumed) / rates.resumed_per_cpu_s : 0.0);
    }
    std::optional<double> ratio;
    if (expected_s && *expected_s > 0 && back > 0) {
        ratio = d.max / *expected_s;
    }
    std::optional<double> pushed_by_server;
    if (pushed_after) {
        pushed_by_server = *pushed_after - pushed_before.value_or(0);
    }
    const double resumed_share = back > 0 ? static_cast<double>(resumed) / static_cast<double>(back) : 0;

    json summary = common_summary(run, "storm");
    summary["load_before"] = load_before;
    summary["killed"] = a.spec().name;
    summary["survivor"] = b.spec().name;
    summary["agents_on_killed"] = before[0];
    summary["per_server_before"] = per_server_json(run, before);
    summary["holding_ticket_before"] = *holding;
    summary["lost"] = lost;
    summary["reconnected"] = back;
    summary["connected_after"] = connected;
    summary["no_agent_lost"] = none_lost;
    summary["not_back"] = lost - back;
    summary["reconnect_s"] = to_json(d);
    summary["all_connected_s"] = d.max;
    summary["full"] = full;
    summary["resumed"] = resumed;
    summary["resumed_share"] = resumed_share;
    summary["rates"] = {{"full_per_s", rates.full_per_s},
                        {"full_per_server_cpu_s", rates.full_per_cpu_s},
                        {"resumed_per_s", rates.resumed_per_s},
                        {"resumed_per_server_cpu_s", rates.resumed_per_cpu_s}};
    summary["expected_s"] = optional_json(expected_s);
    summary["ratio"] = optional_json(ratio);
    summary["expected_server_cpu_s"] = optional_json(expected_cpu_s);
    summary["survivor_cpu_s"] = b_cpu_s;
    summary["server_thread_cpu_s"] = threads;
    summary["bench_client_cpu_s"] = client_cpu_s;
    summary["reconnect_attempts"] = attempts.attempts;
    summary["reconnect_failures"] = failures_json(attempts.failures);
    summary["handshake_timeouts"] = timeouts;
    summary["pushed_back"] = attempts.pushed_back;
    summary["pushed_back_by_server"] = optional_json(pushed_by_server);
    summary["per_server_after"] = per_server_json(run, after);
    summary["ratio_target"] = kRatioTarget;
    summary["target_met"] = none_lost && lost > 0 && timeouts == 0 && ratio && *ratio <= kRatioTarget;

    emit(
        summary,
        "storm",
        {{"killed (SIGKILL)", a.spec().name + fmt::format(" holding {} agents", before[0])},
         {"agents holding a ticket before", std::to_string(*holding)},
         {"sessions lost / back on " + b.spec().name, fmt::format("{} / {}", lost, back)},
         {"reconnect p50 / p99", fmt::format("{:.3f} / {:.3f} s", d.p50, d.p99)},
         {"all connected after", fixed(d.max, 3) + " s"},
         {"handshakes: full / resumed",
          fmt::format("{} / {} ({:.1f} % resumed)", full, resumed, resumed_share * 100)},
         {"rates of this run (wall): full / resumed",
          fixed(rates.full_per_s, 0) + " / " + fixed(rates.resumed_per_s, 0) + " per s"},
         {"time those rates need", expected_s ? fixed(*expected_s, 3) + " s" : "unknown (a rate is missing)"},
         {"ratio (target <= 1.2)", ratio ? fixed(*ratio, 2) : "unknown"},
         {"CPU of " + b.spec().name,
          fixed(b_cpu_s, 2) + " s (the rates per CPU-s need " +
              (expected_cpu_s ? fixed(*expected_cpu_s, 2) + " s" : std::string("?")) + "; bench client " +
              fixed(client_cpu_s, 2) + " s)"},
         {"attempts / handshake timeouts (target 0)",
          fmt::format("{} / {} ({})", attempts.attempts, timeouts, failures_text(attempts.failures))},
         {"pushed back: seen by agents / counted by " + b.spec().name,
          std::to_string(attempts.pushed_back) + " / " + optional_text(pushed_by_server)},
         {"agents connected after", fmt::format("{} of {}", connected, o.agents)},
         {"CPU per thread (main, store, I/O...)", thread_delta_text(threads)},
         {"per server after", per_server_text(run, after)},
         {"load average", load_before + " -> " + load_average()}});
    return success();
}

}  // namespace agentlb::bench
