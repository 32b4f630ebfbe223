#include "tools/bench/server_kill.hpp"

#include "tools/bench/fleet.hpp"
#include "tools/bench/mgmt_process.hpp"
#include "tools/bench/proc_stats.hpp"

#include <csignal>

namespace agentlb::bench {

using nlohmann::json;

Result<KilledServer> kill_and_collect(RunContext& run,
                                      std::size_t victim,
                                      const std::string& scenario,
                                      std::chrono::seconds wait) {
    auto& process = *run.servers()[victim];
    KilledServer out;
    out.cpu_before = server_cpu(run);
    const auto threads_before = server_threads(run);
    const double client_cpu_before = worker_cpu(run);
    const std::int64_t killed_ns = steady_ns();
    process.kill(SIGKILL);
    auto replies = broadcast_all(
        run,
        scenario,
        json{{"cmd", "collect_failover"},
             {"timeout_ms", std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()},
             {"settle_ms", 500}},
        wait + std::chrono::seconds(30));
    if (!replies) {
        return fail(replies.error());
    }
    (void)process.wait(std::chrono::seconds(5));
    out.cpu_after = server_cpu(run);
    auto threads_after = server_threads(run);
    // Gone: /proc has nothing more to say of the victim.
    out.cpu_after[victim] = out.cpu_before[victim];
    threads_after[victim] = threads_before[victim];
    out.threads = thread_delta_json(run, threads_before, threads_after);
    out.client_cpu_s = worker_cpu(run) - client_cpu_before;

    std::vector<json> tries;
    for (const auto& reply : *replies) {
        out.lost += reply.at("lost_ns").size();
        for (const auto& ns : reply.at("back_ns")) {
            const std::int64_t value = ns.get<std::int64_t>();
            if (value != 0) {
                out.back_s.push_back(static_cast<double>(value - killed_ns) / 1e9);
            }
        }
        tries.push_back(reply.at("reconnections"));
    }
    out.attempts = merge_phase(tries, run.servers().size());
    out.resumed = sum_of(*replies, "back_resumed");
    out.connected = sum_of(*replies, "connected");
    out.replies = std::move(*replies);
    return out;
}

}  // namespace agentlb::bench
