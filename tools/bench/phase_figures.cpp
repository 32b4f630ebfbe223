#include "tools/bench/phase_figures.hpp"

#include "tools/bench/scenario_support.hpp"

#include <algorithm>

namespace agentlb::bench {

using nlohmann::json;

PhaseFigures merge_phase(const std::vector<json>& replies, std::size_t servers) {
    PhaseFigures m;
    for (const auto& r : replies) {
        const std::int64_t started = r.at("started_ns");
        m.started_ns = m.started_ns == 0 ? started : std::min(m.started_ns, started);
        m.last_ns = std::max<std::int64_t>(m.last_ns, r.at("last_ns"));
        m.attempts += r.at("attempts").get<std::size_t>();
        m.established += r.at("established").get<std::size_t>();
        m.full += r.at("full").get<std::size_t>();
        m.resumed += r.at("resumed").get<std::size_t>();
        m.offered_ticket += r.value("offered_ticket", std::size_t{0});
        m.pushed_back += r.value("pushed_back", std::size_t{0});
        for (const auto& [reason, count] : r.at("failures").items()) {
            m.failures[reason] += count.get<std::size_t>();
        }
        for (const auto& us : r.at("setup_us")) {
            m.setup_ms.push_back(us.get<double>() / 1000.0);
        }
        m.connected += r.value("connected", std::size_t{0});
    }
    m.per_server.assign(servers, 0);
    for (const auto& r : replies) {
        if (r.contains("per_server")) {
            const auto& list = r.at("per_server");
            for (std::size_t i = 0; i < servers && i < list.size(); ++i) {
                m.per_server[i] += list[i].get<std::size_t>();
            }
        }
    }
    return m;
}

std::size_t timeouts_of(const std::map<std::string, std::size_t>& failures) {
    std::size_t n = 0;
    for (const auto& [reason, count] : failures) {
        if (reason.find("timeout") != std::string::npos) {
            n += count;
        }
    }
    return n;
}

Result<ResumptionSample> measure_resumption(RunContext& run,
                                            std::size_t count,
                                            std::chrono::milliseconds phase) {
    ResumptionSample sample;
    const auto workers = run.workers().size();
    const auto& o = run.options();
    auto status = run.broadcast(
        [](std::size_t) {
            return json{{"cmd", "status"}};
        },
        run.deadline_in(std::chrono::seconds(30)));
    if (!status) {
        return fail("resumption: " + status.error());
    }
    sample.tickets_held = sum_of(*status, "holding_ticket");
    const auto cpu_before = server_cpu(run);
    const json command{{"cmd", "reconnect"},
                       {"count", (count + workers - 1) / workers},
                       {"rate", o.rate / static_cast<double>(workers)},
                       {"inflight", std::max<int>(1, o.inflight / static_cast<int>(workers))},
                       {"timeout_ms", phase.count()}};
    auto replies = run.broadcast([&](std::size_t) { return command; },
                                 run.deadline_in(phase + std::chrono::seconds(30)));
    if (!replies) {
        return fail("resumption: " + replies.error());
    }
    sample.server_cpu_s = total_delta(cpu_before, server_cpu(run));
    sample.figures = merge_phase(*replies, run.servers().size());
    return sample;
}

json resumption_json(const ResumptionSample& sample) {
    const auto& r = sample.figures;
    return {{"sample", r.attempts},
            {"holding_ticket_before", sample.tickets_held},
            {"offered_ticket", r.offered_ticket},
            {"established", r.established},
            {"resumed", r.resumed},
            {"full", r.full},
            {"failures", failures_json(r.failures)},
            {"seconds", r.seconds()},
            {"resumed_per_s", sample.resumed_per_s()},
            {"server_cpu_s", sample.server_cpu_s},
            {"resumed_per_server_cpu_s", sample.resumed_per_cpu_s()}};
}

}  // namespace agentlb::bench
