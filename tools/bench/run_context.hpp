#pragma once

// Everything a benchmark run sets up and tears down: the work folder, the CA,
// the store, the agents' identities, the management servers and the worker
// processes, plus the figures measured without servers (crypto ceiling,
// OpenSSL floor) that several scenarios report.

#include "certs/ca.hpp"
#include "common/store/store.hpp"
#include "common/util/result.hpp"
#include "tools/bench/control_channel.hpp"
#include "tools/bench/crypto_ceiling.hpp"
#include "tools/bench/haproxy_front.hpp"
#include "tools/bench/identities.hpp"
#include "tools/bench/mgmt_process.hpp"
#include "tools/bench/options.hpp"
#include "tools/bench/tls_floor.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::bench {

struct WorkerHandle {
    pid_t pid = -1;
    std::unique_ptr<ControlChannel> channel;
    std::size_t begin = 0;
    std::size_t end = 0;
};

// Handshake rates measured earlier in the run (connect phase, resumption
// sample), which storm compares its reconnection time with.
struct MeasuredRates {
    std::size_t full = 0;
    double full_per_s = 0;  // wall
    double full_per_cpu_s = 0;
    bool resumption_measured = false;
    std::size_t resumed = 0;
    double resumed_per_s = 0;  // wall
    double resumed_per_cpu_s = 0;
};

class RunContext {
public:
    RunContext(BenchOptions options, std::string self_exe);
    ~RunContext();  // stops workers, then servers

    RunContext(const RunContext&) = delete;
    RunContext& operator=(const RunContext&) = delete;

    const BenchOptions& options() const { return options_; }
    const std::filesystem::path& work_dir() const { return work_; }
    // --db, else WORK/agentlb.db; may carry a password: show it with store::shown_location.
    const std::string& db() const { return db_; }

    // Work folder, CA (created when missing) and store.
    Status prepare();
    // Identities of the N agents (minted or from the cache).
    Status prepare_agents();
    // `host`, algorithm and interval in the store, then the servers (and,
    // with --haproxy, HAProxy in front of them: `host` is then its address).
    Status start_servers();
    // Worker processes, each given its slice of agents (they ping on their own).
    Status start_workers();

    // Sends make(i) to worker i, for all of them, then reads each reply.
    // A reply with "ok": false is a failure naming the worker.
    Result<std::vector<nlohmann::json>> broadcast(const std::function<nlohmann::json(std::size_t)>& make,
                                                  std::chrono::steady_clock::time_point deadline);

    const certs::CertificateAuthority& ca() const { return *ca_; }
    store::Store& store() { return *store_; }
    std::vector<std::unique_ptr<MgmtProcess>>& servers() { return servers_; }
    std::vector<WorkerHandle>& workers() { return workers_; }
    bool servers_started() const { return !servers_.empty(); }
    // With --haproxy: the proxy, the agents' only server; otherwise null.
    const HaproxyProcess* proxy() const { return proxy_.get(); }

    // Measured once per run, on first use.
    Result<CryptoCeiling> ceiling();
    Result<FloorResult> floor();

    void set_connect_rates(std::size_t full, double per_s, double per_cpu_s) {
        rates_.full = full;
        rates_.full_per_s = per_s;
        rates_.full_per_cpu_s = per_cpu_s;
    }
    void set_resumption(std::size_t resumed, double per_s, double per_cpu_s) {
        rates_.resumption_measured = true;
        rates_.resumed = resumed;
        rates_.resumed_per_s = per_s;
        rates_.resumed_per_cpu_s = per_cpu_s;
    }
    const MeasuredRates& rates() const { return rates_; }

    // The deadline of the whole run.
    std::chrono::steady_clock::time_point run_deadline() const { return run_deadline_; }
    // min(now + d, run deadline).
    std::chrono::steady_clock::time_point deadline_in(std::chrono::steady_clock::duration d) const;

private:
    void stop_workers();

    BenchOptions options_;
    std::string self_exe_;
    std::filesystem::path work_;
    std::string db_;
    std::filesystem::path ca_dir_;
    std::optional<certs::CertificateAuthority> ca_;
    std::unique_ptr<store::Store> store_;
    std::vector<std::unique_ptr<MgmtProcess>> servers_;
    std::vector<WorkerHandle> workers_;
    std::unique_ptr<HaproxyProcess> proxy_;
    std::optional<CryptoCeiling> ceiling_;
    std::optional<FloorResult> floor_;
    MeasuredRates rates_;
    std::chrono::steady_clock::time_point run_deadline_;
};

}  // namespace agentlb::bench
