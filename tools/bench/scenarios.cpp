#include "tools/bench/scenarios.hpp"

#include "common/lb/config_keys.hpp"
#include "tools/bench/fleet.hpp"
#include "tools/bench/proc_stats.hpp"
#include "tools/bench/report.hpp"

#include <fmt/format.h>

#include <csignal>
#include <map>
#include <thread>

namespace agentlb::bench {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using Rows = std::vector<std::pair<std::string, std::string>>;

namespace {

constexpr double kRssTarget = 1.15;
constexpr double kHandshakeTarget = 0.60;
constexpr double kPropagateTargetMs = 1000;
constexpr double kFailoverTargetS = 5;

json base(RunContext& run, const std::string& scenario) {
    const auto& o = run.options();
    return {{"scenario", scenario},
            {"agents", o.agents},
            {"servers", o.servers},
            {"mgmt_threads", o.mgmt_threads},
            {"workers", run.workers().size()},
            {"cores", cpu_count()},
            {"load", load_average()}};
}

std::vector<double> server_cpu(RunContext& run) {
    std::vector<double> cpu;
    for (auto& server : run.servers()) {
        cpu.push_back(cpu_seconds(server->pid()).value_or(0));
    }
    return cpu;
}

using ThreadCpu = std::vector<std::map<pid_t, double>>;

ThreadCpu server_threads(RunContext& run) {
    ThreadCpu all;
    for (auto& server : run.servers()) {
        all.push_back(thread_cpu_seconds(server->pid()));
    }
    return all;
}

// Per server, the CPU seconds each thread used between two readings, by
// thread id (the main thread's id is the pid; agentlb-mgmt starts its store
// thread before its other I/O threads).
json thread_delta_json(RunContext& run, const ThreadCpu& before, const ThreadCpu& after) {
    json out = json::object();
    for (std::size_t i = 0; i < before.size() && i < after.size(); ++i) {
        json threads = json::array();
        for (const auto& [tid, cpu] : after[i]) {
            const auto it = before[i].find(tid);
            threads.push_back({{"tid", tid}, {"cpu_s", cpu - (it == before[i].end() ? 0.0 : it->second)}});
        }
        out[run.servers()[i]->spec().name] = threads;
    }
    return out;
}

std::string thread_delta_text(const json& per_server) {
    std::string text;
    for (const auto& [name, threads] : per_server.items()) {
        text += (text.empty() ? "" : "; ") + name + ":";
        for (const auto& t : threads) {
            text += fmt::format(" {:.2f}", t.at("cpu_s").get<double>());
        }
    }
    return text + " s";
}

double worker_cpu(RunContext& run) {
    double sum = 0;
    for (const auto& worker : run.workers()) {
        sum += cpu_seconds(worker.pid).value_or(0);
    }
    return sum;
}

double total_delta(const std::vector<double>& before, const std::vector<double>& after) {
    double sum = 0;
    for (std::size_t i = 0; i < before.size() && i < after.size(); ++i) {
        sum += after[i] - before[i];
    }
    return sum;
}

std::vector<std::int64_t> server_rss(RunContext& run) {
    std::vector<std::int64_t> rss;
    for (auto& server : run.servers()) {
        rss.push_back(resident_bytes(server->pid()).value_or(0));
    }
    return rss;
}

std::vector<std::size_t> per_server(const std::vector<json>& replies, std::size_t servers) {
    std::vector<std::size_t> counts(servers, 0);
    for (const auto& reply : replies) {
        const auto& list = reply.at("per_server");
        for (std::size_t i = 0; i < servers && i < list.size(); ++i) {
            counts[i] += list[i].get<std::size_t>();
        }
    }
    return counts;
}

std::size_t total(const std::vector<json>& replies, const char* field) {
    std::size_t sum = 0;
    for (const auto& reply : replies) {
        sum += reply.at(field).get<std::size_t>();
    }
    return sum;
}

json per_server_json(RunContext& run, const std::vector<std::size_t>& counts) {
    json out = json::object();
    for (std::size_t i = 0; i < counts.size(); ++i) {
        out[run.servers()[i]->spec().name] = counts[i];
    }
    return out;
}

std::string per_server_text(RunContext& run, const std::vector<std::size_t>& counts) {
    std::string text;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        text += fmt::format("{}{}={}", text.empty() ? "" : " ", run.servers()[i]->spec().name, counts[i]);
    }
    return text;
}

struct Merged {
    std::int64_t started_ns = 0;
    std::int64_t last_ns = 0;
    std::size_t attempts = 0;
    std::size_t established = 0;
    std::size_t full = 0;
    std::size_t resumed = 0;
    std::map<std::string, std::size_t> failures;
    std::vector<double> setup_ms;
    std::size_t connected = 0;
    std::vector<std::size_t> per_server;

    double seconds() const {
        return last_ns > started_ns ? static_cast<double>(last_ns - started_ns) / 1e9 : 0;
    }
};

Merged merge(const std::vector<json>& replies, std::size_t servers) {
    Merged m;
    for (const auto& r : replies) {
        const std::int64_t started = r.at("started_ns");
        m.started_ns = m.started_ns == 0 ? started : std::min(m.started_ns, started);
        m.last_ns = std::max<std::int64_t>(m.last_ns, r.at("last_ns"));
        m.attempts += r.at("attempts").get<std::size_t>();
        m.established += r.at("established").get<std::size_t>();
        m.full += r.at("full").get<std::size_t>();
        m.resumed += r.at("resumed").get<std::size_t>();
        for (const auto& [reason, count] : r.at("failures").items()) {
            m.failures[reason] += count.get<std::size_t>();
        }
        for (const auto& us : r.at("setup_us")) {
            m.setup_ms.push_back(us.get<double>() / 1000.0);
        }
    }
    m.connected = total(replies, "connected");
    m.per_server = per_server(replies, servers);
    return m;
}

json failures_json(const std::map<std::string, std::size_t>& failures) {
    json out = json::object();
    for (const auto& [reason, count] : failures) {
        out[reason] = count;
    }
    return out;
}

std::string failures_text(const std::map<std::string, std::size_t>& failures) {
    if (failures.empty()) {
        return "none";
    }
    std::string text;
    for (const auto& [reason, count] : failures) {
        text += fmt::format("{}{} x {}", text.empty() ? "" : "; ", count, reason);
    }
    return text;
}

json ceiling_json(const CryptoCeiling& c) {
    return {{"ecdsa_p256_sign_per_s", c.speeds.sign_per_s},
            {"ecdsa_p256_verify_per_s", c.speeds.verify_per_s},
            {"x25519_keygen_per_s", c.speeds.keygen_per_s},
            {"x25519_derive_per_s", c.speeds.derive_per_s},
            {"cost_us", c.cost_s * 1e6},
            {"per_core", c.per_core},
            {"cores", c.cores},
            {"ceiling", c.ceiling},
            {"simple_model_per_core", c.simple_per_core}};
}

json floor_json(const FloorResult& f) {
    return {{"sessions", f.sessions},
            {"server_handshake_us", f.server_handshake_us},
            {"openssl_tls_per_core", f.server_handshake_us > 0 ? 1e6 / f.server_handshake_us : 0.0},
            {"server_handshake_us_with_ticket", f.server_handshake_us_with_ticket},
            {"heap_per_session", f.release_buffers.heap_per_session},
            {"rss_per_session", f.release_buffers.rss_per_session},
            {"heap_per_session_without_release_buffers", f.kept_buffers.heap_per_session},
            {"rss_per_session_without_release_buffers", f.kept_buffers.rss_per_session}};
}

Rows ceiling_rows(const CryptoCeiling& c) {
    return {
        {"ECDSA P-256 sign/s (1 core)", fixed(c.speeds.sign_per_s, 0)},
        {"ECDSA P-256 verify/s (1 core)", fixed(c.speeds.verify_per_s, 0)},
        {"X25519 keygen/s (1 core)", fixed(c.speeds.keygen_per_s, 0)},
        {"X25519 derive/s (1 core)", fixed(c.speeds.derive_per_s, 0)},
        {"crypto per full handshake", fixed(c.cost_s * 1e6, 1) + " us (1 sign + 2 verify + keygen + derive)"},
        {"ceiling per core", fixed(c.per_core, 0) + " handshakes/s"},
        {"ceiling on " + std::to_string(c.cores) + " cores", fixed(c.ceiling, 0) + " handshakes/s"},
        {"simple model per core",
         fixed(c.simple_per_core, 0) + " handshakes/s (1 sign + 1 verify + 1 derive)"}};
}

Rows floor_rows(const FloorResult& f) {
    return {{"sessions (server side, socketpairs)", std::to_string(f.sessions)},
            {"server CPU per full handshake",
             fixed(f.server_handshake_us, 1) + " us (OpenSSL alone: " +
                 fixed(f.server_handshake_us > 0 ? 1e6 / f.server_handshake_us : 0, 0) +
                 " handshakes/s per core)"},
            {"the same with one session ticket", fixed(f.server_handshake_us_with_ticket, 1) + " us"},
            {"heap per session, RELEASE_BUFFERS", bytes_text(f.release_buffers.heap_per_session)},
            {"RSS per session, RELEASE_BUFFERS", bytes_text(f.release_buffers.rss_per_session)},
            {"heap per session, buffers kept", bytes_text(f.kept_buffers.heap_per_session)},
            {"RSS per session, buffers kept", bytes_text(f.kept_buffers.rss_per_session)}};
}

}  // namespace

Status run_ceiling(RunContext& run) {
    auto c = run.ceiling();
    if (!c) {
        return fail(c.error());
    }
    json summary = base(run, "ceiling");
    summary.update(ceiling_json(*c));
    emit(summary, "ceiling: full handshakes/s the crypto allows", ceiling_rows(*c));
    return success();
}

Status run_floor(RunContext& run) {
    auto f = run.floor();
    if (!f) {
        return fail(f.error());
    }
    json summary = base(run, "floor");
    summary.update(floor_json(*f));
    emit(summary, "floor: OpenSSL's own memory per idle server session", floor_rows(*f));
    return success();
}

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
    Merged m = merge(*replies, servers);
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

    double cpu_used = 0;
    json rss = json::array();
    std::int64_t rss_growth = 0;
    for (std::size_t i = 0; i < servers; ++i) {
        cpu_used += cpu_after[i] - cpu_before[i];
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
    const double full_rate = m.seconds() > 0 ? static_cast<double>(m.full) / m.seconds() : 0;
    const double per_cpu = cpu_used > 0 ? static_cast<double>(m.full) / cpu_used : 0;
    auto setup = distribution(m.setup_ms);

    // Resumed handshakes: close a sample and reopen it with the tickets.
    Merged r;
    double resume_cpu = 0;
    if (o.resume_sample > 0) {
        const std::size_t sample_per_worker = (o.resume_sample + workers - 1) / workers;
        const auto resume_cpu_before = server_cpu(run);
        json resume_command = command;
        resume_command["cmd"] = "reconnect";
        resume_command["count"] = sample_per_worker;
        auto resumed_replies = run.broadcast([&](std::size_t) { return resume_command; },
                                             run.deadline_in(phase + std::chrono::seconds(30)));
        if (!resumed_replies) {
            return fail("connect (resumption): " + resumed_replies.error());
        }
        const auto resume_cpu_after = server_cpu(run);
        r = merge(*resumed_replies, servers);
        for (std::size_t i = 0; i < servers; ++i) {
            resume_cpu += resume_cpu_after[i] - resume_cpu_before[i];
        }
    }
    const double resumed_rate = r.seconds() > 0 ? static_cast<double>(r.resumed) / r.seconds() : 0;

    // What every hello costs the server's store thread today: the zone's ids.
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
    const double floor_bytes = floor->release_buffers.heap_per_session;
    const double rss_ratio = floor_bytes > 0 ? bytes_per_session / floor_bytes : 0;
    const double efficiency = ceiling->per_core > 0 ? per_cpu / ceiling->per_core : 0;

    json summary = base(run, "connect");
    summary["load_before"] = load_before;
    summary["rate_limit"] = o.rate;
    summary["inflight_limit"] = o.inflight;
    summary["sessions_established"] = m.established;
    summary["sessions_connected"] = m.connected;
    summary["sessions_lost_during_run"] = total(*replies, "losses_total");
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
    summary["resumption"] = {{"sample", r.attempts},
                             {"established", r.established},
                             {"resumed", r.resumed},
                             {"full", r.full},
                             {"failures", failures_json(r.failures)},
                             {"seconds", r.seconds()},
                             {"resumed_per_s", resumed_rate},
                             {"server_cpu_s", resume_cpu},
                             {"resumed_per_server_cpu_s", resume_cpu > 0 ? r.resumed / resume_cpu : 0.0}};
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
    summary["rss_target"] = kRssTarget;
    summary["rss_target_met"] = rss_ratio > 0 && rss_ratio <= kRssTarget;
    summary["handshake_efficiency"] = efficiency;
    const double tls_per_core = floor->server_handshake_us > 0 ? 1e6 / floor->server_handshake_us : 0;
    summary["openssl_tls_per_core"] = tls_per_core;
    summary["efficiency_vs_openssl_tls"] = tls_per_core > 0 ? per_cpu / tls_per_core : 0;
    summary["handshake_target"] = kHandshakeTarget;
    summary["handshake_target_met"] = efficiency >= kHandshakeTarget;

    Rows rows{
        {"agents / sessions established", fmt::format("{} / {}", o.agents, m.established)},
        {"failures", failures_text(m.failures)},
        {"sessions lost meanwhile", std::to_string(total(*replies, "losses_total"))},
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
         fixed(tls_per_core, 0) + "/s, ours at " + fixed(tls_per_core > 0 ? per_cpu / tls_per_core : 0, 2) +
             " of it"},
        {"resumed sample", fmt::format("{} reopened, {} resumed, {} full", r.established, r.resumed, r.full)},
        {"resumed handshakes/s (wall)", fixed(resumed_rate, 0)},
        {"per server", per_server_text(run, m.per_server)}};
    for (const auto& entry : rss) {
        rows.emplace_back("RSS " + entry.at("server").get<std::string>(),
                          bytes_text(entry.at("rss_before").get<double>()) + " -> " +
                              bytes_text(entry.at("rss_after").get<double>()));
    }
    rows.emplace_back("server RSS per session", bytes_text(bytes_per_session));
    rows.emplace_back("OpenSSL floor per session",
                      bytes_text(floor_bytes) + " (heap; " +
                          bytes_text(floor->kept_buffers.heap_per_session) + " without RELEASE_BUFFERS)");
    rows.emplace_back("ratio (target <= 1.15)", fixed(rss_ratio, 2));
    rows.emplace_back("store read of the zone's ids (per hello)", fixed(zone_read_ms, 2) + " ms");
    rows.emplace_back("bench client RSS per agent",
                      bytes_text(m.connected > 0 ? static_cast<double>(client_rss) / m.connected : 0));
    rows.emplace_back("load average", load_before + " -> " + load_average());
    emit(summary, "connect", rows);
    return success();
}

Status run_propagate(RunContext& run) {
    const auto& o = run.options();
    const std::string load_before = load_average();
    auto armed = run.broadcast(
        [](std::size_t) {
            return json{{"cmd", "arm_push"}};
        },
        run.deadline_in(std::chrono::seconds(30)));
    if (!armed) {
        return fail("propagate: " + armed.error());
    }
    const std::size_t connected = total(*armed, "connected");
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
    auto replies = run.broadcast(
        [&](std::size_t) {
            return json{{"cmd", "collect_push"},
                        {"timeout_ms", std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()}};
        },
        run.deadline_in(wait + std::chrono::seconds(30)));
    if (!replies) {
        return fail("propagate: " + replies.error());
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
    json summary = base(run, "propagate");
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

Status run_steady(RunContext& run) {
    const auto& o = run.options();
    const std::string load_before = load_average();
    auto armed = run.broadcast(
        [](std::size_t) {
            return json{{"cmd", "arm_steady"}};
        },
        run.deadline_in(std::chrono::seconds(30)));
    if (!armed) {
        return fail("steady: " + armed.error());
    }
    const auto cpu_before = server_cpu(run);
    const auto start = Clock::now();
    std::this_thread::sleep_until(
        std::min(start + std::chrono::seconds(o.steady_seconds), run.run_deadline()));
    const auto cpu_after = server_cpu(run);
    const std::chrono::duration<double> wall = Clock::now() - start;
    auto replies = run.broadcast(
        [](std::size_t) {
            return json{{"cmd", "collect_steady"}};
        },
        run.deadline_in(std::chrono::seconds(60)));
    if (!replies) {
        return fail("steady: " + replies.error());
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
    const std::size_t connected = total(*replies, "connected");
    rows.emplace_back("agents connected", fmt::format("{} of {}", connected, o.agents));
    rows.emplace_back("duration", fixed(wall.count(), 1) + " s");
    for (std::size_t i = 0; i < run.servers().size(); ++i) {
        const double percent = (cpu_after[i] - cpu_before[i]) / wall.count() * 100.0;
        cpu[run.servers()[i]->spec().name] = percent;
        rows.emplace_back("CPU " + run.servers()[i]->spec().name, fixed(percent, 1) + " % of one core");
    }
    rows.emplace_back("pings / pongs",
                      fmt::format("{} / {}", total(*replies, "pings"), total(*replies, "pongs")));
    rows.emplace_back("ping RTT p50 / p99 / max",
                      fmt::format("{:.2f} / {:.2f} / {:.2f} ms", d.p50, d.p99, d.max));
    rows.emplace_back("sessions lost", std::to_string(total(*replies, "losses")));
    rows.emplace_back("load average", load_before + " -> " + load_average());
    json summary = base(run, "steady");
    summary["load_before"] = load_before;
    summary["seconds"] = wall.count();
    summary["connected"] = connected;
    summary["server_cpu_percent"] = cpu;
    summary["pings"] = total(*replies, "pings");
    summary["pongs"] = total(*replies, "pongs");
    summary["losses"] = total(*replies, "losses");
    summary["rtt_ms"] = to_json(d);
    emit(summary, "steady", rows);
    return success();
}

Status run_failover(RunContext& run) {
    const auto& o = run.options();
    const std::string load_before = load_average();
    auto armed = run.broadcast(
        [](std::size_t) {
            return json{{"cmd", "arm_failover"}};
        },
        run.deadline_in(std::chrono::seconds(30)));
    if (!armed) {
        return fail("failover: " + armed.error());
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
    auto replies = run.broadcast(
        [&](std::size_t) {
            return json{{"cmd", "collect_failover"},
                        {"timeout_ms", std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()},
                        {"settle_ms", 500}};
        },
        run.deadline_in(wait + std::chrono::seconds(30)));
    if (!replies) {
        return fail("failover: " + replies.error());
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
    const std::size_t connected = total(*replies, "connected");
    const auto d = distribution(back_s);
    const bool none_lost = back == lost && connected == o.agents;
    json summary = base(run, "failover");
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
    summary["target_s"] = kFailoverTargetS;
    summary["target_met"] = none_lost && lost > 0 && d.max <= kFailoverTargetS;
    emit(summary,
         "failover",
         {{"killed (SIGKILL)", process.spec().name + fmt::format(" holding {} agents", before[victim])},
          {"sessions lost / reconnected", fmt::format("{} / {}", lost, back)},
          {"reconnect p50 / p99", fmt::format("{:.3f} / {:.3f} s", d.p50, d.p99)},
          {"all reconnected after (target <= 5 s)", fixed(d.max, 3) + " s"},
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
