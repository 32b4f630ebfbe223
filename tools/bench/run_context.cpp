#include "tools/bench/run_context.hpp"

#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "common/lb/config_keys.hpp"
#include "common/lb/host_list.hpp"
#include "common/store/store_location.hpp"
#include "tools/bench/proc_stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace agentlb::bench {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kZone = "default";
// Descriptors a server or worker needs besides its sessions (listeners,
// store files, epoll, logs), with room for reconnections.
constexpr std::uint64_t kDescriptorReserve = 100;

bool wants_messages(const BenchOptions& options) {
    return std::find(options.scenarios.begin(), options.scenarios.end(), "messages") !=
           options.scenarios.end();
}

std::string progress_line(std::size_t done, std::size_t count) {
    return fmt::format("agentlb-bench: minted {}/{} agents\n", done, count);
}

}  // namespace

RunContext::RunContext(BenchOptions options, std::string self_exe)
    : options_(std::move(options)),
      self_exe_(std::move(self_exe)),
      work_(options_.work_dir),
      db_(options_.db.empty() ? (work_ / "agentlb.db").string() : options_.db),
      run_deadline_(Clock::now() + std::chrono::seconds(options_.timeout_seconds)) {}

RunContext::~RunContext() {
    stop_workers();
    servers_.clear();  // SIGTERM, then SIGKILL after 10 s
}

Clock::time_point RunContext::deadline_in(Clock::duration d) const {
    return std::min(Clock::now() + d, run_deadline_);
}

Status RunContext::prepare() {
    std::error_code ec;
    std::filesystem::create_directories(work_ / "logs", ec);
    if (ec) {
        return fail("--work-dir " + work_.string() + ": " + ec.message());
    }
    ca_dir_ = options_.ca_dir.empty() ? work_ / "ca" : std::filesystem::path(options_.ca_dir);
    if (!std::filesystem::exists(ca_dir_ / certs::kCaCertificateFileName)) {
        if (!options_.ca_dir.empty()) {
            return fail("--ca-dir " + ca_dir_.string() +
                        " holds no ca.crt (make one with `agentlbctl ca init`)");
        }
        if (auto status = certs::create_ca(ca_dir_, "agentlb-bench CA"); !status) {
            return fail("creating the bench CA: " + status.error());
        }
    }
    auto ca = certs::CertificateAuthority::load(ca_dir_);
    if (!ca) {
        return fail("--ca-dir " + ca_dir_.string() + ": " + ca.error());
    }
    ca_.emplace(std::move(ca).value());
    try {
        // Created (or given the schema) here, before any server opens it.
        store_ = store::open_store(db_, store::OpenMode::create);
        const auto stored = store_->ca_certificate();
        if (stored && stored->second != ca_->fingerprint()) {
            return fail("the store " + store::shown_location(db_) + " belongs to CA " + stored->second +
                        ", not to " + ca_->fingerprint() +
                        ": use another --work-dir (or --ca-dir, or --db) or remove that one");
        }
        if (!stored) {
            store_->put_ca_certificate(ca_->certificate_pem(), ca_->fingerprint());
        }
    } catch (const store::StoreError& e) {
        return fail(e.what());
    }
    return success();
}

Status RunContext::prepare_agents() {
    const auto started = Clock::now();
    auto set = ensure_identities(
        *store_, *ca_, work_ / "identities.txt", options_.agents, [](std::size_t done, std::size_t count) {
            std::fputs(progress_line(done, count).c_str(), stderr);
        });
    if (!set) {
        return fail(set.error());
    }
    const std::chrono::duration<double> took = Clock::now() - started;
    std::fprintf(stderr,
                 "agentlb-bench: %zu agent identities ready in %.1f s (%s)\n",
                 options_.agents,
                 took.count(),
                 (work_ / "identities.txt").c_str());
    return success();
}

Status RunContext::start_servers() {
    std::string binary = options_.mgmt_bin;
    if (binary.empty()) {
        binary = (std::filesystem::path(self_exe_).parent_path() / "agentlb-mgmt").string();
    }
    if (::access(binary.c_str(), X_OK) != 0) {
        return fail("no executable agentlb-mgmt at " + binary + " (give --mgmt-bin)");
    }
    // One descriptor per session, and the hard limit cannot be raised here
    // without CAP_SYS_RESOURCE: say so before the run fails half-way.
    const std::uint64_t limit = descriptor_limit();
    // Storm puts every agent on its first server.
    const std::size_t per_server = options_.algorithm == "static"
                                       ? options_.agents
                                       : (options_.agents + options_.servers - 1) / options_.servers;
    if (limit > 0 && options_.algorithm == "static" && per_server + kDescriptorReserve > limit) {
        return fail(
            fmt::format("storm puts all {} agents on one agentlb-mgmt, but a process may open only {} "
                        "descriptors here (hard RLIMIT_NOFILE): use --agents {} or fewer",
                        options_.agents,
                        limit,
                        limit - kDescriptorReserve));
    }
    if (limit > 0 && per_server + kDescriptorReserve > limit) {
        return fail(
            fmt::format("{} agents on {} server(s) is {} sessions per agentlb-mgmt, but a process may open "
                        "only {} descriptors here (hard RLIMIT_NOFILE; raising it needs CAP_SYS_RESOURCE): "
                        "use --servers {} or more",
                        options_.agents,
                        options_.servers,
                        per_server,
                        limit,
                        (options_.agents + (limit - kDescriptorReserve) - 1) / (limit - kDescriptorReserve)));
    }
    if (limit > 0 && std::min(options_.agents_per_worker, options_.agents) + kDescriptorReserve > limit) {
        return fail(fmt::format("--agents-per-worker {} exceeds the {} descriptors a process may open here",
                                options_.agents_per_worker,
                                limit));
    }
    std::uint16_t next_port = static_cast<std::uint16_t>(20000 + (::getpid() * 7) % 11000);
    std::vector<MgmtSpec> specs;
    std::vector<std::string> addresses;
    for (int i = 0; i < options_.servers; ++i) {
        MgmtSpec spec;
        spec.binary = binary;
        spec.name = "bench-ms" + std::to_string(i + 1);
        spec.db = db_;
        spec.ca_dir = ca_dir_.string();
        spec.state_dir = (work_ / "state").string();
        for (auto* port : {&spec.port, &spec.enroll_port, &spec.admin_port}) {
            auto free = find_free_port(next_port);
            if (!free) {
                return fail(free.error());
            }
            *port = *free;
        }
        spec.threads = options_.mgmt_threads;
        spec.extra_args = options_.mgmt_args;
        const bool has_level = std::any_of(spec.extra_args.begin(), spec.extra_args.end(), [](const auto& a) {
            return a.rfind("--log-level", 0) == 0;
        });
        if (!has_level) {
            spec.extra_args.push_back("--log-level=warn");
        }
        spec.log_file = work_ / "logs" / (spec.name + ".log");
        if (wants_messages(options_)) {
            // The application connects to ms1 only; the others carry their
            // hosts' messages over the peer link (port 0: the one bound is
            // registered in the store, again at a restart).
            if (i == 0) {
                spec.app_socket = (work_ / (spec.name + "-app.sock")).string();
            }
            if (options_.servers > 1) {
                spec.peer_listen = "127.0.0.1:0";
            }
        }
        addresses.push_back("127.0.0.1:" + std::to_string(spec.port));
        specs.push_back(std::move(spec));
    }
    // Through HAProxy the agents are told only its address.
    std::uint16_t proxy_port = 0;
    if (!options_.haproxy.empty()) {
        auto free = find_free_port(next_port);
        if (!free) {
            return fail(free.error());
        }
        proxy_port = *free;
        addresses = {"127.0.0.1:" + std::to_string(proxy_port)};
    }
    // The servers read these at start; interval 0 so that propagate has a value to change.
    for (const auto& [key, value] :
         std::vector<std::pair<std::string_view, std::string>>{{lb::kHostKey, lb::join_host_list(addresses)},
                                                               {lb::kAlgorithmKey, options_.algorithm},
                                                               {lb::kCheckIntervalKey, "0"}}) {
        auto stored = store_->set_config(key, value);
        if (!stored) {
            return fail("store: " + stored.error());
        }
    }
    // --set: validated by the store as `agentlbctl config set` is.
    for (const auto& [key, value] : options_.settings) {
        auto stored = store_->set_config(key, value);
        if (!stored) {
            return fail("--set " + key + "=" + value + ": " + stored.error());
        }
    }
    for (const auto& spec : specs) {
        auto process = MgmtProcess::start(spec, std::chrono::seconds(30));
        if (!process) {
            return fail(process.error());
        }
        servers_.push_back(std::move(process).value());
    }
    if (proxy_port != 0) {
        HaproxySettings proxy{proxy_port, {}, options_.agents + 100};
        for (const auto& server : servers_) {
            proxy.servers.push_back({server->spec().name, server->spec().port, server->spec().admin_port});
        }
        auto started = HaproxyProcess::start(options_.haproxy,
                                             proxy,
                                             work_ / "haproxy.cfg",
                                             work_ / "logs" / "haproxy.log",
                                             std::chrono::seconds(30));
        if (!started) {
            return fail(started.error());
        }
        proxy_ = std::move(started).value();
    }
    return success();
}

Status RunContext::start_workers() {
    const std::size_t per = options_.agents_per_worker;
    const std::size_t count = (options_.agents + per - 1) / per;
    const std::size_t slice = (options_.agents + count - 1) / count;
    for (std::size_t i = 0; i < count; ++i) {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
            return fail("socketpair for a worker failed");
        }
        auto pid = spawn_child(
            {self_exe_, "--worker"}, work_ / "logs" / fmt::format("worker-{}.log", i + 1), fds[1]);
        ::close(fds[1]);
        if (!pid) {
            ::close(fds[0]);
            return fail("worker: " + pid.error());
        }
        WorkerHandle handle;
        handle.pid = *pid;
        handle.channel = std::make_unique<ControlChannel>(fds[0]);
        handle.begin = i * slice;
        handle.end = std::min(options_.agents, (i + 1) * slice);
        workers_.push_back(std::move(handle));
    }
    json servers = json::array();
    for (const auto& server : servers_) {
        servers.push_back({{"name", server->spec().name}, {"address", server->address()}});
    }
    if (proxy_) {
        servers = json::array({json{{"name", "haproxy"}, {"address", proxy_->address()}}});
    }
    std::vector<std::int64_t> ids;
    try {
        ids = store_->host_ids_in_zone(kZone);
    } catch (const store::StoreError& e) {
        return fail(e.what());
    }
    const std::string ca_pem = ca_->certificate_pem();
    const std::string cache = (work_ / "identities.txt").string();
    auto replies = broadcast(
        [&](std::size_t i) {
            return json{{"cmd", "init"},
                        {"cache", cache},
                        {"begin", workers_[i].begin},
                        {"end", workers_[i].end},
                        {"ca_pem", ca_pem},
                        {"servers", servers},
                        {"host_ids", ids},
                        {"algorithm", options_.algorithm},
                        {"interval", 0},
                        {"app", wants_messages(options_)},
                        {"app_payload", options_.messages_payload}};
        },
        deadline_in(std::chrono::minutes(5)));
    if (!replies) {
        return fail(replies.error());
    }
    return success();
}

Result<std::vector<json>> RunContext::broadcast(const std::function<json(std::size_t)>& make,
                                                Clock::time_point deadline) {
    for (std::size_t i = 0; i < workers_.size(); ++i) {
        if (auto sent = workers_[i].channel->send(make(i)); !sent) {
            return fail(fmt::format("worker {}: {}", i + 1, sent.error()));
        }
    }
    std::vector<json> replies;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
        auto reply = workers_[i].channel->receive(deadline);
        if (!reply) {
            return fail(fmt::format("worker {}: {} (log: {})",
                                    i + 1,
                                    reply.error(),
                                    (work_ / "logs" / fmt::format("worker-{}.log", i + 1)).string()));
        }
        if (!reply->value("ok", false)) {
            return fail(fmt::format("worker {}: {}", i + 1, reply->value("error", std::string("failed"))));
        }
        replies.push_back(std::move(reply).value());
    }
    return replies;
}

void RunContext::stop_workers() {
    if (workers_.empty()) {
        return;
    }
    for (auto& worker : workers_) {
        (void)worker.channel->send(json{{"cmd", "stop"}});
    }
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    for (auto& worker : workers_) {
        (void)worker.channel->receive(deadline);
        worker.channel.reset();  // EOF ends a worker that did not take "stop"
    }
    for (auto& worker : workers_) {
        int status = 0;
        bool reaped = false;
        while (Clock::now() < deadline) {
            if (::waitpid(worker.pid, &status, WNOHANG) == worker.pid) {
                reaped = true;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (!reaped) {
            ::kill(worker.pid, SIGKILL);
            ::waitpid(worker.pid, &status, 0);
        }
    }
    workers_.clear();
}

Result<CryptoCeiling> RunContext::ceiling() {
    if (!ceiling_) {
        try {
            const auto speeds = measure_primitive_speeds(std::chrono::milliseconds(options_.ceiling_ms));
            ceiling_ = compute_ceiling(speeds, cpu_count());
        } catch (const std::exception& e) {
            return fail(e.what());
        }
    }
    return *ceiling_;
}

Result<FloorResult> RunContext::floor() {
    if (!floor_) {
        auto server = issue_loopback_server(*ca_);
        if (!server) {
            return fail("floor: server certificate: " + server.error());
        }
        auto key = certs::generate_p256_key();
        if (!key) {
            return fail("floor: " + key.error());
        }
        auto csr = certs::make_csr_pem(key->get(), "bench-floor");
        if (!csr) {
            return fail("floor: " + csr.error());
        }
        certs::IssueOptions issue;
        issue.kind = certs::CertificateKind::agent;
        issue.common_name = "bench-floor";
        auto agent = ca_->issue(*csr, issue);
        if (!agent) {
            return fail("floor: agent certificate: " + agent.error());
        }
        FloorInputs inputs;
        inputs.ca_pem = ca_->certificate_pem();
        inputs.server_cert_pem = server->cert_pem;
        inputs.server_key_pem = server->key_pem;
        inputs.agent_cert_pem = agent->pem;
        inputs.agent_key_pem = certs::private_key_to_pem(key->get());
        inputs.sessions = options_.floor_sessions;
        auto result = measure_tls_floor(inputs);
        if (!result) {
            return fail(result.error());
        }
        floor_ = *result;
    }
    return *floor_;
}

}  // namespace agentlb::bench
