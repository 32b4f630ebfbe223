#pragma once

// Three real agentlb-mgmt processes (ms1, ms2, ms3) on one SQLite store and N
// real agentlb-agent processes enrolled in it, for the tests of maintenance,
// drain, shutdown and rebalance. Each server keeps its ports across a stop
// and restart (the agents' lists name them). A background sampler reads the
// store's connected_to of every host every 100 ms and records each host it
// finds with none: the "no agent is ever without a session" invariant.
//
//   ThreeServers cluster({.agents = 30});
//   REQUIRE(cluster.wait_all_connected(20s));
//   cluster.sampler().start();
//   ... act ...
//   cluster.sampler().stop();
//   CHECK(cluster.sampler().gaps().empty());

#include "tests/agent/agent_cluster.hpp"
#include "tests/support/ca_fixture.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace agentlb::test {

// One agentlb-mgmt on 127.0.0.1 with ports fixed for its lifetime: a
// ManagedServer that can also be signalled, waited for and asked.
class ClusterServer : public ManagedServer {
public:
    ClusterServer(const CaFixture& fixture, std::string name);
    ~ClusterServer();
    ClusterServer(const ClusterServer&) = delete;
    ClusterServer& operator=(const ClusterServer&) = delete;

    void signal(int signal);
    // The exit code, or nothing if it is still running after `timeout`.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    // SIGTERM, then SIGKILL after `timeout`: the exit code of a clean stop.
    std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(5));

    // Every start's log, oldest first.
    std::string log() const;
    // This run's /v1/status (null when it does not answer) and one sample of
    // /metrics (0 when absent).
    nlohmann::json status() const;
    double metric(const std::string& sample) const;
    // This run's whole /metrics text ("" when it does not answer).
    std::string metrics_text() const;
};

// Where every host is, read from the store every `interval` on a thread of
// its own (its own store connection).
class ConnectionSampler {
public:
    using Clock = std::chrono::steady_clock;
    struct Sample {
        Clock::time_point at;
        std::map<std::string, std::optional<std::string>> where;  // host -> connected_to
    };
    struct Gap {
        std::string host;
        Clock::time_point at;
    };

    ConnectionSampler(std::string db, std::vector<std::string> hosts);
    ~ConnectionSampler();
    ConnectionSampler(const ConnectionSampler&) = delete;
    ConnectionSampler& operator=(const ConnectionSampler&) = delete;

    void start(std::chrono::milliseconds interval = std::chrono::milliseconds(100));
    void stop();

    std::vector<Sample> samples() const;
    // Each (host, sample) with no connected_to.
    std::vector<Gap> gaps() const;
    // "h3 at +1200 ms, ..." for a failure message (at most 20).
    std::string describe_gaps() const;
    // A read of the store that failed (the sampler keeps going).
    std::vector<std::string> errors() const;

private:
    void run(std::chrono::milliseconds interval);

    std::string db_;
    std::vector<std::string> hosts_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    mutable std::mutex mutex_;
    Clock::time_point started_{};
    std::vector<Sample> samples_;
    std::vector<Gap> gaps_;
    std::vector<std::string> errors_;
};

struct ThreeServersOptions {
    std::size_t agents = 30;
    // The store's indirect.agent.lb.algorithm; the agents start with the
    // three servers in order under it.
    std::string algorithm = "static";
    // indirect.agent.lb.check.interval (and the agents' own), seconds.
    int check_interval = 0;
    // Store settings applied before the servers start (key, value).
    std::vector<std::pair<std::string, std::string>> config;
    // Extra flags of every server.
    std::vector<std::string> server_args;
    // The `host` value agent i starts with; default: the three servers in
    // order, "@" the algorithm.
    std::function<std::string(std::size_t i, const std::vector<std::string>& addresses)> initial_host;
    // Start the agents in the constructor.
    bool start_agents = true;
    // The zone agent i is enrolled in; default: "default".
    std::function<std::string(std::size_t i)> zone;
};

class ThreeServers {
public:
    explicit ThreeServers(ThreeServersOptions options = {});
    ~ThreeServers();

    CaFixture& fixture() { return fixture_; }
    // 0, 1, 2 = ms1, ms2, ms3.
    ClusterServer& server(std::size_t i) { return *servers_.at(i); }
    ClusterServer* server_named(const std::string& name);
    const std::vector<std::string>& addresses() const { return addresses_; }
    std::size_t agent_count() const { return agents_.size(); }
    AgentProcess& agent(std::size_t i) { return *agents_.at(i); }
    const std::vector<std::string>& host_names() const { return host_names_; }

    void start_agents();
    // Every host has a connected_to naming a running server.
    bool wait_all_connected(std::chrono::milliseconds timeout);
    // host -> server name (connected_to), from the test thread's store connection.
    std::map<std::string, std::optional<std::string>> where();
    // How many hosts the store says are on `server`.
    std::size_t count_on(const std::string& server);
    // "ms1: 10, ms2: 20, none: 0" for failure messages.
    std::string layout();
    // The ends of every server's log and of agent 0's.
    std::string logs();

    ConnectionSampler& sampler() { return *sampler_; }

private:
    ThreeServersOptions options_;
    TempDir agents_root_;
    CaFixture fixture_;
    std::vector<std::unique_ptr<ClusterServer>> servers_;
    std::vector<std::string> addresses_;
    std::vector<std::string> host_names_;
    std::vector<std::unique_ptr<AgentProcess>> agents_;
    std::unique_ptr<ConnectionSampler> sampler_;
};

}  // namespace agentlb::test
