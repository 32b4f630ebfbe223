// The connect scenario: every agent connects; server memory and CPU per session,
// handshake rates against the crypto ceiling and the OpenSSL floor, and a
// resumed-handshake sample.

#include "tools/bench/phase_figures.hpp"
#include "tools/bench/proc_stats.hpp"
#include "tools/bench/report.hpp"
#include "tools/bench/scenario_support.hpp"
#include "tools/bench/scenarios.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <thread>

namespace agentlb::bench {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// Issue 17's targets (the first benchmark's 1.15 and 0.60 of the crypto
// ceiling are kept in the JSON as handshake_target for older scripts).
constexpr double kRssTarget = 1.10;
constexpr double kHandshakeTarget = 0.60;
constexpr double kOpensslTarget = 0.9;  // full handshakes per server CPU-s against OpenSSL alone
constexpr double kResumedTarget = 3.0;  // resumed against full, per server CPU-s

}  // namespace

Status connect_agents(RunContext& run, bool report) {
    const auto& o = run.options();
    const std::size_t servers = run.servers().size();
    const auto workers = run.workers().size();
    const std::string load_before = load_average();
    // Let start-up settle (the first store reload, heartbeats) before the baseline.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const auto rss_before = server_rss(run);
    const auto cpu_before = server_cpu(run);
    const auto threads_before = server_threads(run);
    const double client_cpu_before = worker_cpu(run);

    double seconds = 60 + static_cast<double>(o.agents) / 100;
    if (o.rate > 0) {
        seconds = std::max(seconds, static_cast<double>(o.agents) / o.rate * 2 + 60);
    }
    if (o.connect_timeout_seconds > 0) {
        seconds = o.connect_timeout_seconds;
    }
    const auto phase = std::chrono::milliseconds(static_cast<long>(seconds * 1000));
    const json command{{"cmd", "connect"},
                       {"rate", o.rate / static_cast<double>(workers)},
                       {"inflight", std::max<int>(1, o.inflight / static_cast<int>(workers))},
                       {"timeout_ms", phase.count()}};
    auto replies = run.broadcast([&](std::size_t) { return command; },
                                 run.deadline_in(phase + std::chrono::seconds(30)));
    if (!replies) {
        return fail("connect: " + replies.error());
    }
    const auto cpu_after = server_cpu(run);
    const json threads = thread_delta_json(run, threads_before, server_threads(run));
    const double client_cpu = worker_cpu(run) - client_cpu_before;
    // Queued store writes (one per session) finish before the memory is read.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const auto rss_after = server_rss(run);
    PhaseFigures m = merge_phase(*replies, servers);
    double cpu_used = 0;
    for (std::size_t i = 0; i < servers; ++i) {
        cpu_used += cpu_after[i] - cpu_before[i];
    }
    const double full_rate = m.seconds() > 0 ? static_cast<double>(m.full) / m.seconds() : 0;
    const double per_cpu = cpu_used > 0 ? static_cast<double>(m.full) / cpu_used : 0;
    run.set_connect_rates(m.full, full_rate, per_cpu);
    if (!report) {
        if (m.connected < o.agents) {
            std::fprintf(stderr,
                         "agentlb-bench: only %zu of %zu agents connected (%s)\n",
                         m.connected,
                         o.agents,
                         failures_text(m.failures).c_str());
        }
        return success();
    }

    json rss = json::array();
    std::int64_t rss_growth = 0;
    for (std::size_t i = 0; i < servers; ++i) {
        const auto growth = rss_after[i] - rss_before[i];
        rss_growth += growth;
        const std::size_t sessions = m.per_server[i];
        rss.push_back({{"server", run.servers()[i]->spec().name},
                       {"pid", run.servers()[i]->pid()},
                       {"rss_before", rss_before[i]},
                       {"rss_after", rss_after[i]},
                       {"sessions", sessions},
                       {"bytes_per_session", sessions > 0 ? static_cast<double>(growth) / sessions : 0.0}});
    }
    const double bytes_per_session = m.connected > 0 ? static_cast<double>(rss_growth) / m.connected : 0;
    auto setup = distribution(m.setup_ms);

    // Resumed handshakes: close a sample and reopen it with the tickets.
    ResumptionSample resumption;
    if (o.resume_sample > 0) {
        auto sample = measure_resumption(run, o.resume_sample, phase);
        if (!sample) {
            return fail("connect " + sample.error());
        }
        resumption = std::move(sample).value();
        run.set_resumption(
            resumption.figures.resumed, resumption.resumed_per_s(), resumption.resumed_per_cpu_s());
    }
    const auto& r = resumption.figures;
    const double resumed_rate = resumption.resumed_per_s();
    const double resumed_per_cpu = resumption.resumed_per_cpu_s();
    const double resumed_to_full = per_cpu > 0 ? resumed_per_cpu / per_cpu : 0;

    // One read of the zone's ids: part of every snapshot reload, and what a
    // hello costs the store thread when its host is newer than the snapshot.
    double zone_read_ms = 0;
    try {
        const auto start = Clock::now();
        const auto ids = run.store().host_ids_in_zone("default");
        zone_read_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        (void)ids;
    } catch (const store::StoreError&) {
    }
    std::int64_t client_rss = 0;
    for (const auto& worker : run.workers()) {
        client_rss += resident_bytes(worker.pid).value_or(0);
    }
    auto ceiling = run.ceiling();
    auto floor = run.floor();
    if (!ceiling) {
        return fail(ceiling.error());
    }
    if (!floor) {
        return fail(floor.error());
    }
    // Against the like-for-like floor: with tickets on, OpenSSL's own floor
    // with one ticket sent after the handshake. Both ratios are reported.
    const double plain_floor = floor->release_buffers.heap_per_session;
    const double ticket_floor = floor->ticket_after_handshake.heap_per_session;
    const auto tickets_received = sum_of(*replies, "tickets_received");
    const bool tickets_on = tickets_received > 0;
    const double ratio_plain = plain_floor > 0 ? bytes_per_session / plain_floor : 0;
    const double ratio_ticket = ticket_floor > 0 ? bytes_per_session / ticket_floor : 0;
    const double rss_ratio = tickets_on ? ratio_ticket : ratio_plain;
    const double efficiency = ceiling->per_core > 0 ? per_cpu / ceiling->per_core : 0;

    json summary = common_summary(run, "connect");
    summary["load_before"] = load_before;
    summary["rate_limit"] = o.rate;
    summary["inflight_limit"] = o.inflight;
    summary["sessions_established"] = m.established;
    summary["sessions_connected"] = m.connected;
    summary["sessions_lost_during_run"] = sum_of(*replies, "losses_total");
    summary["attempts"] = m.attempts;
    summary["failures"] = failures_json(m.failures);
    summary["full_handshakes"] = m.full;
    summary["resumed_in_connect"] = m.resumed;
    summary["connect_seconds"] = m.seconds();
    summary["full_handshakes_per_s"] = full_rate;
    summary["setup_ms"] = to_json(setup);
    summary["server_cpu_s"] = cpu_used;
    summary["bench_client_cpu_s"] = client_cpu;
    summary["server_thread_cpu_s"] = threads;
    summary["full_handshakes_per_server_cpu_s"] = per_cpu;
    summary["resumption"] = resumption_json(resumption);
    summary["tickets_received"] = tickets_received;
    summary["resumed_handshakes_per_server_cpu_s"] = resumed_per_cpu;
    summary["resumed_to_full_per_cpu_s"] = resumed_to_full;
    summary["resumed_target"] = kResumedTarget;
    summary["resumed_target_met"] = resumed_to_full >= kResumedTarget;
    summary["per_server"] = per_server_json(run, m.per_server);
    summary["server_descriptor_limit"] = descriptor_limit();
    summary["store_zone_read_ms"] = zone_read_ms;
    summary["bench_client_rss"] = client_rss;
    summary["bench_client_rss_per_agent"] =
        m.connected > 0 ? static_cast<double>(client_rss) / m.connected : 0.0;
    summary["rss"] = rss;
    summary["bytes_per_session"] = bytes_per_session;
    summary["ceiling"] = ceiling_json(*ceiling);
    summary["floor"] = floor_json(*floor);
    summary["rss_ratio"] = rss_ratio;
    summary["rss_floor_with_tickets"] = tickets_on;
    summary["rss_ratio_vs_floor_without_tickets"] = ratio_plain;
    summary["rss_ratio_vs_floor_with_ticket"] = ratio_ticket;
    summary["rss_target"] = kRssTarget;
    summary["rss_target_met"] = rss_ratio > 0 && rss_ratio <= kRssTarget;
    summary["handshake_efficiency"] = efficiency;
    const double tls_per_core = floor->server_handshake_us > 0 ? 1e6 / floor->server_handshake_us : 0;
    summary["openssl_tls_per_core"] = tls_per_core;
    const double vs_openssl = tls_per_core > 0 ? per_cpu / tls_per_core : 0;
    summary["efficiency_vs_openssl_tls"] = vs_openssl;
    summary["openssl_target"] = kOpensslTarget;
    summary["openssl_target_met"] = vs_openssl >= kOpensslTarget;
    // OpenSSL alone, resumed from a ticket sent after the handshake: what a
    // resumption costs before anything of ours.
    const double openssl_resumed =
        floor->server_resumed_handshake_us > 0 ? 1e6 / floor->server_resumed_handshake_us : 0;
    const double resumed_vs_openssl = openssl_resumed > 0 ? resumed_per_cpu / openssl_resumed : 0;
    const double openssl_resumed_to_full =
        floor->server_resumed_handshake_us > 0
            ? floor->server_handshake_us_ticket_after / floor->server_resumed_handshake_us
            : 0;
    summary["openssl_resumed_per_core"] = openssl_resumed;
    summary["resumed_vs_openssl"] = resumed_vs_openssl;
    summary["openssl_resumed_to_full_with_ticket"] = openssl_resumed_to_full;
    summary["handshake_target"] = kHandshakeTarget;
    summary["handshake_target_met"] = efficiency >= kHandshakeTarget;

    Rows rows{{"agents / sessions established", fmt::format("{} / {}", o.agents, m.established)},
              {"failures", failures_text(m.failures)},
              {"sessions lost meanwhile", std::to_string(sum_of(*replies, "losses_total"))},
              {"connect time",
               fixed(m.seconds(), 2) + " s (rate limit " +
                   (o.rate > 0 ? fixed(o.rate, 0) + "/s" : std::string("none")) + ", in flight " +
                   std::to_string(o.inflight) + ")"},
              {"full handshakes/s (wall)", fixed(full_rate, 0)},
              {"setup time p50 / p99 / max",
               fmt::format("{:.1f} / {:.1f} / {:.1f} ms", setup.p50, setup.p99, setup.max)},
              {"server CPU during connect",
               fixed(cpu_used, 2) + " s (bench client: " + fixed(client_cpu, 2) + " s)"},
              {"server CPU per thread (main, store, I/O...)", thread_delta_text(threads)},
              {"full handshakes per server CPU-s", fixed(per_cpu, 0)},
              {"crypto ceiling per core",
               fixed(ceiling->per_core, 0) + "/s (" + fixed(ceiling->ceiling, 0) + "/s on " +
                   std::to_string(ceiling->cores) + " cores)"},
              {"handshake efficiency (target >= 0.60)", fixed(efficiency, 2)},
              {"OpenSSL TLS alone per core (floor run)",
               fixed(tls_per_core, 0) + "/s, ours at " + fixed(vs_openssl, 2) + " of it (target >= 0.90)"},
              {"resumed sample",
               fmt::format("{} reopened ({} offered a ticket), {} resumed, {} full",
                           r.established,
                           r.offered_ticket,
                           r.resumed,
                           r.full)},
              {"resumed handshakes/s (wall)", fixed(resumed_rate, 0)},
              {"resumed handshakes per server CPU-s (target >= 3 x full)",
               fixed(resumed_per_cpu, 0) + " (" + fixed(resumed_to_full, 2) + " x full)"},
              {"OpenSSL alone resumed per core (floor run)",
               fixed(openssl_resumed, 0) + "/s, ours at " + fixed(resumed_vs_openssl, 2) + " of it; " +
                   fixed(openssl_resumed_to_full, 2) + " x its full handshake with a ticket after"},
              {"per server", per_server_text(run, m.per_server)}};
    for (const auto& entry : rss) {
        rows.emplace_back("RSS " + entry.at("server").get<std::string>(),
                          bytes_text(entry.at("rss_before").get<double>()) + " -> " +
                              bytes_text(entry.at("rss_after").get<double>()));
    }
    rows.emplace_back("server RSS per session", bytes_text(bytes_per_session));
    rows.emplace_back("OpenSSL floor per session",
                      bytes_text(plain_floor) + " (heap; " +
                          bytes_text(floor->kept_buffers.heap_per_session) + " without RELEASE_BUFFERS)");
    rows.emplace_back("OpenSSL floor with one ticket sent", bytes_text(ticket_floor));
    rows.emplace_back("ratio to the floor without / with a ticket",
                      fixed(ratio_plain, 2) + " / " + fixed(ratio_ticket, 2));
    rows.emplace_back(std::string("ratio (target <= 1.10, floor ") +
                          (tickets_on ? "with a ticket" : "without tickets") + ")",
                      fixed(rss_ratio, 2));
    rows.emplace_back("store read of all the zone's host ids", fixed(zone_read_ms, 2) + " ms");
    rows.emplace_back("bench client RSS per agent",
                      bytes_text(m.connected > 0 ? static_cast<double>(client_rss) / m.connected : 0));
    rows.emplace_back("load average", load_before + " -> " + load_average());
    emit(summary, "connect", rows);
    return success();
}

}  // namespace agentlb::bench
