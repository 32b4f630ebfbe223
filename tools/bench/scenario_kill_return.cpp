// The kill-return scenario (issue 18: agentlb or a proxy): the same figures
// whether the agents hold agentlb's own lists or only HAProxy's address
// (--haproxy): ping round trip in steady state, time until every agent is
// connected again after one server is SIGKILLed, and the spread of agents over
// the servers after the failure and once the server is back.
//
// The spread is read on the servers (agentlb_agents_connected on each one's
// admin port), not from the agents: behind a proxy an agent cannot tell which
// server it reached.

#include "tools/bench/fleet.hpp"
#include "tools/bench/phase_figures.hpp"
#include "tools/bench/proc_stats.hpp"
#include "tools/bench/report.hpp"
#include "tools/bench/scenario_support.hpp"
#include "tools/bench/scenarios.hpp"
#include "tools/bench/server_kill.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <thread>

namespace agentlb::bench {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// The returned server counts as refilled once it holds this share of an even split.
constexpr double kRefilledShare = 0.9;

// Sessions each server reports now; 0 for one that does not answer (killed).
std::vector<std::size_t> server_counts(RunContext& run) {
    std::vector<std::size_t> counts;
    for (auto& server : run.servers()) {
        const auto text = http_get(server->spec().admin_port, "/metrics", std::chrono::seconds(2));
        const auto value = text ? metric_value(*text, "agentlb_agents_connected") : std::nullopt;
        counts.push_back(value ? static_cast<std::size_t>(*value) : 0);
    }
    return counts;
}

std::size_t total(const std::vector<std::size_t>& counts) {
    std::size_t sum = 0;
    for (auto c : counts) {
        sum += c;
    }
    return sum;
}

// Busiest server against the mean over the servers that are up (`skip` is down).
double imbalance(const std::vector<std::size_t>& counts, std::optional<std::size_t> skip) {
    std::size_t max = 0;
    std::size_t up = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        if (skip && *skip == i) {
            continue;
        }
        ++up;
        max = std::max(max, counts[i]);
    }
    const double mean = up > 0 ? static_cast<double>(total(counts)) / static_cast<double>(up) : 0;
    return mean > 0 ? static_cast<double>(max) / mean : 0;
}

}  // namespace

Status run_kill_return(RunContext& run) {
    const auto& o = run.options();
    const std::string mode = run.proxy() != nullptr ? "haproxy" : "agentlb";
    const std::string load_before = load_average();

    // 1. Steady state: every agent pings at the servers' heartbeat interval.
    if (auto armed = broadcast_all(run, "kill-return", json{{"cmd", "arm_steady"}}, std::chrono::seconds(30));
        !armed) {
        return fail(armed.error());
    }
    std::this_thread::sleep_until(
        std::min(Clock::now() + std::chrono::seconds(o.steady_seconds), run.run_deadline()));
    auto steady =
        broadcast_all(run, "kill-return", json{{"cmd", "collect_steady"}}, std::chrono::seconds(60));
    if (!steady) {
        return fail(steady.error());
    }
    std::vector<double> rtt_ms;
    for (const auto& reply : *steady) {
        for (const auto& us : reply.at("rtt_us")) {
            rtt_ms.push_back(us.get<double>() / 1000.0);
        }
    }
    const auto rtt = distribution(rtt_ms);
    const std::size_t pongs = sum_of(*steady, "pongs");

    // 2. SIGKILL the busiest server; wait until every agent is back somewhere.
    const auto before = server_counts(run);
    const auto victim =
        static_cast<std::size_t>(std::max_element(before.begin(), before.end()) - before.begin());
    const MgmtSpec spec = run.servers()[victim]->spec();
    if (auto armed =
            broadcast_all(run, "kill-return", json{{"cmd", "arm_failover"}}, std::chrono::seconds(30));
        !armed) {
        return fail(armed.error());
    }
    auto killed = kill_and_collect(run, victim, "kill-return", std::chrono::seconds(o.failover_timeout_seconds));
    if (!killed) {
        return fail(killed.error());
    }
    const std::size_t lost = killed->lost;
    std::vector<double> back_s = killed->back_s;  // distribution() sorts it
    const std::size_t reconnected = back_s.size();
    const auto reconnect = distribution(back_s);
    const std::size_t connected_after_failure = killed->connected;
    const auto after_failure = server_counts(run);
    const PhaseFigures& attempts = killed->attempts;

    // 3. Restart it (same name, ports and state) and watch the spread.
    auto restarted = MgmtProcess::start(spec, std::chrono::seconds(60));
    if (!restarted) {
        return fail("kill-return: restarting " + spec.name + ": " + restarted.error());
    }
    run.servers()[victim] = std::move(restarted).value();
    const auto returned = Clock::now();
    if (auto armed = broadcast_all(run, "kill-return", json{{"cmd", "arm_steady"}}, std::chrono::seconds(30));
        !armed) {
        return fail(armed.error());
    }
    const double fair = static_cast<double>(o.agents) / static_cast<double>(run.servers().size());
    std::optional<double> refilled_s;
    auto after_return = server_counts(run);
    const auto end = std::min(returned + std::chrono::seconds(o.return_seconds), run.run_deadline());
    while (Clock::now() < end) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        after_return = server_counts(run);
        if (!refilled_s && static_cast<double>(after_return[victim]) >= kRefilledShare * fair) {
            refilled_s = std::chrono::duration<double>(Clock::now() - returned).count();
        }
    }
    auto final_status =
        broadcast_all(run, "kill-return", json{{"cmd", "collect_steady"}}, std::chrono::seconds(30));
    if (!final_status) {
        return fail(final_status.error());
    }
    const std::size_t connected_after_return = sum_of(*final_status, "connected");
    const std::size_t moved_after_return = sum_of(*final_status, "losses");

    json summary = common_summary(run, "kill-return");
    summary["mode"] = mode;
    summary["algorithm"] = o.algorithm;
    summary["through"] = run.proxy() != nullptr ? run.proxy()->address() : "agentlb lists";
    summary["load_before"] = load_before;
    json settings = json::object();
    for (const auto& [key, value] : o.settings) {
        settings[key] = value;
    }
    summary["settings"] = settings;  // --set: e.g. the rebalancer's behaviour
    summary["steady_seconds"] = o.steady_seconds;
    summary["pongs"] = pongs;
    summary["rtt_ms"] = to_json(rtt);
    summary["killed"] = spec.name;
    summary["per_server_before"] = per_server_json(run, before);
    summary["lost"] = lost;
    summary["reconnected"] = reconnected;
    summary["reconnect_s"] = to_json(reconnect);
    summary["all_reconnected_s"] = reconnect.max;
    summary["connected_after_failure"] = connected_after_failure;
    summary["reconnect_attempts"] = attempts.attempts;
    summary["reconnect_failures"] = failures_json(attempts.failures);
    summary["no_agent_lost"] = reconnected == lost && connected_after_failure == o.agents;
    summary["per_server_after_failure"] = per_server_json(run, after_failure);
    summary["imbalance_after_failure"] = imbalance(after_failure, victim);
    summary["return_seconds"] = o.return_seconds;
    summary["per_server_after_return"] = per_server_json(run, after_return);
    summary["imbalance_after_return"] = imbalance(after_return, std::nullopt);
    summary["returned_server_agents"] = after_return[victim];
    summary["fair_share"] = fair;
    summary["refilled_s"] = refilled_s ? json(*refilled_s) : json(nullptr);
    summary["moved_after_return"] = moved_after_return;
    summary["connected_after_return"] = connected_after_return;
    emit(summary,
         "kill-return (" + mode + ")",
         {{"agents reach the servers through", summary["through"].get<std::string>()},
          {"ping RTT p50 / p99 / max (steady)",
           fmt::format("{:.2f} / {:.2f} / {:.2f} ms ({} pongs)", rtt.p50, rtt.p99, rtt.max, pongs)},
          {"per server before", per_server_text(run, before)},
          {"killed (SIGKILL)", fmt::format("{} holding {} agents", spec.name, before[victim])},
          {"sessions lost / reconnected", fmt::format("{} / {}", lost, reconnected)},
          {"reconnect p50 / p99", fmt::format("{:.3f} / {:.3f} s", reconnect.p50, reconnect.p99)},
          {"all connected again after", fixed(reconnect.max, 3) + " s"},
          {"reconnection attempts (failures)",
           fmt::format("{} ({})", attempts.attempts, failures_text(attempts.failures))},
          {"per server after the failure",
           per_server_text(run, after_failure) + " (max/mean " + fixed(imbalance(after_failure, victim), 2) +
               ")"},
          {fmt::format("per server {} s after the return", o.return_seconds),
           per_server_text(run, after_return) + " (max/mean " +
               fixed(imbalance(after_return, std::nullopt), 2) + ")"},
          {"returned server at 90 % of an even share after",
           refilled_s ? fixed(*refilled_s, 1) + " s" : std::string("never (within the wait)")},
          {"sessions moved after the return", std::to_string(moved_after_return)},
          {"agents connected at the end", fmt::format("{} of {}", connected_after_return, o.agents)},
          {"load average", load_before + " -> " + load_average()}});
    return success();
}

}  // namespace agentlb::bench
