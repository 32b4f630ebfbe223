#pragma once

// Three agentlb-mgmt "machines", a store and a handful of real agentlb-agent
// processes, each machine a network namespace of its own on one switch
// (tests/support/netns.hpp), for the multi-machine tests:
//
//   198.18.0.1 .2 .3   ms1 ms2 ms3   agent port 8250, enrollment 8251,
//                                    admin 127.0.0.1:8252 (the namespace's own)
//   198.18.0.10        db            PostgreSQL on 5432 (tools/pg_local.sh)
//   198.18.0.100       agents        h1..hN, enrolled for real, h1 at ms1,
//                                    h2 at ms2, h3 at ms3, h4 at ms1 ...
//
// With Backend::sqlite the servers share one SQLite file instead (the
// namespaces share the file system): the harness without PostgreSQL.
// The test process reaches the store through the file or PostgreSQL's Unix
// socket, and each server's admin port from a thread inside its namespace.

#include "common/store/store.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace agentlb::test {

enum class RoomStore { sqlite, postgresql };

struct RoomOptions {
    RoomStore store = RoomStore::sqlite;
    int agents = 6;
    // Extra config keys set before the servers start.
    std::map<std::string, std::string> config;
};

class MachineRoom {
public:
    static constexpr int kServers = 3;

    explicit MachineRoom(const RoomOptions& options);
    ~MachineRoom();
    MachineRoom(const MachineRoom&) = delete;
    MachineRoom& operator=(const MachineRoom&) = delete;

    // The test's own store connection (as agentlbctl would write).
    store::Store& store() { return *store_; }
    // A fresh connection (after PostgreSQL was stopped under the old one).
    void reopen_store();
    void set_config(const std::string& key, const std::string& value);

    static std::string server_name(int i) { return "ms" + std::to_string(i + 1); }
    static std::string server_ip(int i) { return "198.18.0." + std::to_string(i + 1); }
    static std::string server_address(int i) { return server_ip(i) + ":8250"; }
    static constexpr const char* kDatabaseIp = "198.18.0.10";
    int agent_count() const { return static_cast<int>(agents_.size()); }
    static std::string agent_name(int i) { return "h" + std::to_string(i + 1); }

    const Namespace& server_ns(int i) const { return *server_ns_[i]; }
    const Namespace& database_ns() const { return *database_ns_; }

    // The server's /v1/status, or null when it does not answer.
    nlohmann::json status(int server) const;
    // The HTTP status of the server's /healthz (0 when it does not answer).
    int healthz(int server) const;
    // One Prometheus sample from the server's /metrics; nothing when it does
    // not answer or lacks it.
    std::optional<double> metric(int server, const std::string& sample) const;
    // Agent name -> the servers whose /v1/status lists it, over the servers
    // in `servers` (all when empty).
    std::map<std::string, std::set<std::string>> placement(const std::vector<int>& servers = {}) const;

    // The agent's `host` value in its own properties file.
    std::optional<std::string> agent_host_value(int agent) const;
    std::string agent_log(int agent) const;
    // How many lines of the agent's log hold `text`.
    int agent_log_count(int agent, const std::string& text) const;

    // PostgreSQL's own folder (tools/pg_local.sh's DIR).
    std::string database_dir() const;
    // tools/pg_local.sh COMMAND inside the database namespace; throws on failure.
    void database_command(const std::string& command);

    // The end of every log, for failure messages.
    std::string logs() const;

private:
    void start_database();
    void start_server(int i);
    void start_agent(int i);

    RoomOptions options_;
    NetLab lab_;
    // Namespaces first: they go last, after every process in them.
    std::unique_ptr<Switch> switch_;
    std::vector<std::unique_ptr<Namespace>> server_ns_;
    std::unique_ptr<Namespace> database_ns_;
    std::unique_ptr<Namespace> agents_ns_;
    TempDir dir_;
    // Stops PostgreSQL (tools/pg_local.sh stop) on every way out, also when
    // the constructor throws half-way.
    struct DatabaseGuard {
        std::string dir;  // empty: none started
        ~DatabaseGuard();
    } database_;
    std::string server_db_;  // --db of the servers
    std::string local_db_;   // the test's own way to the same store
    std::unique_ptr<store::Store> store_;
    std::string ca_fingerprint_;
    std::vector<std::unique_ptr<Process>> servers_;
    std::vector<std::unique_ptr<Process>> agents_;
};

}  // namespace agentlb::test
