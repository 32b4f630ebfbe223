#include "tools/bench/scenario_support.hpp"

#include "common/store/store_location.hpp"
#include "tools/bench/proc_stats.hpp"

#include <fmt/format.h>

namespace agentlb::bench {

using nlohmann::json;

Result<std::vector<json>> broadcast_all(RunContext& run,
                                        const std::string& scenario,
                                        const json& command,
                                        std::chrono::steady_clock::duration timeout) {
    auto replies = run.broadcast([&](std::size_t) { return command; }, run.deadline_in(timeout));
    if (!replies) {
        return fail(scenario + ": " + replies.error());
    }
    return replies;
}

json common_summary(RunContext& run, const std::string& scenario) {
    const auto& o = run.options();
    return {{"scenario", scenario},
            {"agents", o.agents},
            {"servers", o.servers},
            {"store", store::backend_of(run.db()) == store::Backend::postgresql ? "postgresql" : "sqlite"},
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

ThreadCpu server_threads(RunContext& run) {
    ThreadCpu all;
    for (auto& server : run.servers()) {
        all.push_back(thread_cpu_seconds(server->pid()));
    }
    return all;
}

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

std::size_t sum_of(const std::vector<json>& replies, const char* field) {
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
            {"server_resumed_handshake_us", f.server_resumed_handshake_us},
            {"server_handshake_us_ticket_after", f.server_handshake_us_ticket_after},
            {"heap_per_session", f.release_buffers.heap_per_session},
            {"rss_per_session", f.release_buffers.rss_per_session},
            {"heap_per_session_without_release_buffers", f.kept_buffers.heap_per_session},
            {"rss_per_session_without_release_buffers", f.kept_buffers.rss_per_session},
            {"heap_per_session_with_ticket", f.ticket_after_handshake.heap_per_session},
            {"rss_per_session_with_ticket", f.ticket_after_handshake.rss_per_session},
            {"heap_per_session_with_ticket_buffers_kept",
             f.ticket_after_handshake_buffers_kept.heap_per_session}};
}

}  // namespace agentlb::bench
