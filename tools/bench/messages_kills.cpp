#include "tools/bench/messages_kills.hpp"

#include "tools/bench/report.hpp"
#include "tools/bench/server_kill.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace agentlb::bench {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kRestartWait = std::chrono::seconds(60);
constexpr auto kDrainWait = std::chrono::seconds(30);
// A kill is not started with less than this left before the run's
// deadline, beside the stream's intervals: a cycle takes 6-10 s here (the
// restarted server waits about 5 s to take over its row in the store), and
// the drain and the hosts' collection after the last one a few seconds.
constexpr auto kCycleRoom = std::chrono::seconds(40);

// ms1 (index 0) holds the application: the others in turn, except that one
// holding no host gives way to the one holding the most.
std::size_t pick_victim(std::size_t turn, const std::vector<std::size_t>& hosts) {
    const std::size_t others = hosts.size() - 1;
    std::size_t victim = 1 + turn % others;
    if (hosts[victim] == 0) {
        const auto busiest = std::max_element(hosts.begin() + 1, hosts.end());
        if (*busiest > 0) {
            victim = static_cast<std::size_t>(busiest - hosts.begin());
        }
    }
    return victim;
}

// Longer than one resend (the Client's 1 s) after the failover: a message
// that missed its host more than once.
constexpr double kSlowAnswerMs = 2000;

// One kill: SIGKILL, every host connected again, restart. Empty when it went well.
std::string kill_cycle(RunContext& run, std::size_t turn, KillCycle& cycle) {
    const auto& o = run.options();
    auto armed = broadcast_all(run, "messages", json{{"cmd", "arm_failover"}}, std::chrono::seconds(30));
    if (!armed) {
        return armed.error();
    }
    const auto hosts = per_server(*armed, run.servers().size());
    const std::size_t victim = pick_victim(turn, hosts);
    MgmtSpec spec = run.servers()[victim]->spec();
    cycle.victim = spec.name;
    cycle.hosts = hosts[victim];
    auto killed = kill_and_collect(run, victim, "messages", std::chrono::seconds(o.failover_timeout_seconds));
    if (!killed) {
        return killed.error();
    }
    cycle.back = killed->back_s.size();
    for (const double s : killed->back_s) {
        cycle.all_back_s = std::max(cycle.all_back_s, s);
    }
    if (killed->connected < o.agents) {
        return fmt::format("after {} was killed only {} of {} hosts were connected again within {} s",
                           spec.name,
                           killed->connected,
                           o.agents,
                           o.failover_timeout_seconds);
    }
    // Same name, ports, state and store; a log of its own per life.
    spec.log_file = run.work_dir() / "logs" / fmt::format("{}.restart-{}.log", spec.name, turn + 1);
    const auto restarting = Clock::now();
    auto restarted = MgmtProcess::start(spec, kRestartWait);
    if (!restarted) {
        return "restarting " + spec.name + ": " + restarted.error();
    }
    cycle.restart_s = std::chrono::duration<double>(Clock::now() - restarting).count();
    run.servers()[victim] = std::move(restarted).value();
    return {};
}

}  // namespace

KillPhase run_message_kills(RunContext& run, std::vector<std::unique_ptr<AppDriver>>& drivers) {
    const auto& o = run.options();
    KillPhase phase;
    phase.asked = static_cast<std::size_t>(o.messages_kills);
    const auto interval = std::chrono::seconds(o.messages_kill_interval);
    const auto clients = drivers.size();

    const std::uint16_t app_admin = run.servers().front()->spec().admin_port;
    const ServerAppCounters app_before = read_app_counters(app_admin);
    std::atomic<bool> stop{false};
    std::vector<AppPhase> streams(clients);
    const auto started = Clock::now();
    std::thread stream([&] {
        on_each(clients, [&](std::size_t c) {
            streams[c] =
                drivers[c]->paced(o.messages_rate / static_cast<double>(clients), run.run_deadline(), &stop);
        });
    });
    for (std::size_t turn = 0; turn < phase.asked; ++turn) {
        if (Clock::now() + 2 * interval + kCycleRoom > run.run_deadline()) {
            phase.error =
                fmt::format("the run's --timeout leaves no room for kill {} of {}: give a larger --timeout",
                            turn + 1,
                            phase.asked);
            break;
        }
        std::this_thread::sleep_for(interval);
        KillCycle cycle;
        const std::string error = kill_cycle(run, turn, cycle);
        if (!cycle.victim.empty()) {
            phase.cycles.push_back(cycle);
        }
        if (!error.empty()) {
            phase.error = fmt::format("kill {} of {}: {}", turn + 1, phase.asked, error);
            break;
        }
        std::fprintf(stderr,
                     "agentlb-bench: messages: kill %zu/%zu: %s held %zu hosts, all back in %.3f s, "
                     "restarted in %.2f s\n",
                     turn + 1,
                     phase.asked,
                     cycle.victim.c_str(),
                     cycle.hosts,
                     cycle.all_back_s,
                     cycle.restart_s);
    }
    std::this_thread::sleep_until(std::min(Clock::now() + interval, run.run_deadline()));
    stop = true;
    stream.join();
    phase.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    // The answers that waited for a failover count: they are the tail.
    on_each(clients, [&](std::size_t c) { drivers[c]->drain(run.deadline_in(kDrainWait), &streams[c]); });
    for (const auto& s : streams) {
        phase.stream.add(s);
    }
    phase.app_server = read_app_counters(app_admin).minus(app_before);
    if (auto status = broadcast_all(run, "messages", json{{"cmd", "status"}}, std::chrono::seconds(30))) {
        phase.hosts_after = per_server(*status, run.servers().size());
    }
    return phase;
}

json kill_phase_json(RunContext& run, const KillPhase& phase) {
    json cycles = json::array();
    std::vector<double> back_s;
    std::vector<double> restart_s;
    std::size_t hosts_moved = 0;
    std::size_t empty = 0;
    for (const auto& c : phase.cycles) {
        empty += c.hosts == 0 ? 1 : 0;
        cycles.push_back({{"victim", c.victim},
                          {"hosts", c.hosts},
                          {"back", c.back},
                          {"all_back_s", c.all_back_s},
                          {"restart_s", c.restart_s}});
        if (c.hosts > 0) {
            back_s.push_back(c.all_back_s);
        }
        restart_s.push_back(c.restart_s);
        hosts_moved += c.back;
    }
    auto rtt = phase.stream.rtt_ms;
    const auto slow = static_cast<std::size_t>(
        std::count_if(rtt.begin(), rtt.end(), [](double ms) { return ms > kSlowAnswerMs; }));
    return {{"asked", phase.asked},
            {"done", phase.cycles.size()},
            {"error", phase.error},
            {"seconds", phase.seconds},
            {"rate_asked", run.options().messages_rate},
            {"interval_s", run.options().messages_kill_interval},
            {"commands", phase.stream.commands},
            {"answers", phase.stream.answers},
            {"commands_per_s",
             phase.seconds > 0 ? static_cast<double>(phase.stream.commands) / phase.seconds : 0},
            {"rtt_ms", to_json(distribution(rtt))},
            {"answers_over_2s", slow},
            {"app_server_frames",
             {{"server", run.servers().front()->spec().name},
              {"undeliverable", phase.app_server.undeliverable},
              {"dropped", phase.app_server.dropped},
              {"relayed", phase.app_server.relays_sent}}},
            {"hosts_moved", hosts_moved},
            {"kills_of_empty_servers", empty},
            {"all_back_s", to_json(distribution(back_s))},
            {"restart_s", to_json(distribution(restart_s))},
            {"hosts_per_server_after",
             phase.hosts_after.empty() ? json(nullptr) : per_server_json(run, phase.hosts_after)},
            {"cycles", cycles}};
}

void add_kill_rows(RunContext& run, const KillPhase& phase, Rows& rows) {
    const json figures = kill_phase_json(run, phase);
    const auto& rtt = figures.at("rtt_ms");
    const auto& back = figures.at("all_back_s");
    rows.emplace_back("server kills (SIGKILL, restart)",
                      fmt::format("{} of {}, every {} s of stream, {:.0f} s in all",
                                  phase.cycles.size(),
                                  phase.asked,
                                  run.options().messages_kill_interval,
                                  phase.seconds));
    rows.emplace_back("hosts failed over",
                      fmt::format("{} in all; all back p50 / max {:.3f} / {:.3f} s after a kill",
                                  figures.at("hosts_moved").get<std::size_t>(),
                                  back.at("p50").get<double>(),
                                  back.at("max").get<double>()));
    if (const auto empty = figures.at("kills_of_empty_servers").get<std::size_t>(); empty > 0) {
        // Hosts do not go back to a restarted server unless the rebalancer moves them.
        rows.emplace_back(
            "kills of a server holding no host",
            fmt::format("{} (none came back to it: --set agentlb.rebalance.behaviour=aggressive "
                        "brings them back)",
                        empty));
    }
    rows.emplace_back("restart to /healthz p50 / max",
                      fmt::format("{:.2f} / {:.2f} s",
                                  figures.at("restart_s").at("p50").get<double>(),
                                  figures.at("restart_s").at("max").get<double>()));
    rows.emplace_back(fmt::format("round trip through the kills at {:.0f}/s", run.options().messages_rate),
                      fmt::format("{:.2f} / {:.2f} / {:.2f} ms ({} answers to {} commands)",
                                  rtt.at("p50").get<double>(),
                                  rtt.at("p99").get<double>(),
                                  rtt.at("max").get<double>(),
                                  phase.stream.answers,
                                  phase.stream.commands));
    rows.emplace_back("answers after more than one resend (> 2 s)",
                      std::to_string(figures.at("answers_over_2s").get<std::size_t>()));
    rows.emplace_back(
        fmt::format("{} during the kills: undeliverable / dropped", run.servers().front()->spec().name),
        fmt::format("{:.0f} / {:.0f}", phase.app_server.undeliverable, phase.app_server.dropped));
    if (!phase.hosts_after.empty()) {
        rows.emplace_back("hosts per server after the kills", per_server_text(run, phase.hosts_after));
    }
    if (!phase.error.empty()) {
        rows.emplace_back("kills stopped", phase.error);
    }
}

}  // namespace agentlb::bench
