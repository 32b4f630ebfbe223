#include "tests/e2e/machine_room.hpp"

#include "certs/ca.hpp"
#include "certs/token.hpp"
#include "common/props/properties_file.hpp"
#include "common/util/clock.hpp"
#include "tests/support/mgmt_server.hpp"
#include "tests/support/net_probe.hpp"
#include "tests/support/wait.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>

#ifndef AGENTLB_AGENT_BIN
#error "AGENTLB_AGENT_BIN must be set by CMake ($<TARGET_FILE:agentlb-agent>)"
#endif
#ifndef AGENTLB_PG_LOCAL
#error "AGENTLB_PG_LOCAL must be set by CMake (tools/pg_local.sh)"
#endif

namespace agentlb::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr std::uint16_t kAdminPort = 8252;

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string tail_of(const std::string& text, std::size_t n) {
    return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

}  // namespace

MachineRoom::MachineRoom(const RoomOptions& options) : options_(options) {
    switch_ = std::make_unique<Switch>(lab_.name("sw"));
    for (int i = 0; i < kServers; ++i) {
        server_ns_.push_back(std::make_unique<Namespace>(lab_.name(server_name(i))));
        switch_->plug(*server_ns_.back(), server_ip(i) + "/24");
    }
    database_ns_ = std::make_unique<Namespace>(lab_.name("db"));
    switch_->plug(*database_ns_, std::string(kDatabaseIp) + "/24");
    agents_ns_ = std::make_unique<Namespace>(lab_.name("agents"));
    switch_->plug(*agents_ns_, "198.18.0.100/24");

    // PostgreSQL runs as `nobody` when the test is root: it must get through.
    fs::permissions(dir_.path(),
                    fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                        fs::perms::others_read | fs::perms::others_exec);
    if (options_.store == RoomStore::postgresql) {
        start_database();
    } else {
        server_db_ = (dir_ / "agentlb.db").string();
        local_db_ = server_db_;
    }
    store_ = store::open_store(local_db_, store::OpenMode::create);

    const auto ca_dir = dir_ / "ca";
    if (auto made = certs::create_ca(ca_dir, "agentlb multi-machine test CA"); !made) {
        throw std::runtime_error("create_ca: " + made.error());
    }
    auto ca = certs::CertificateAuthority::load(ca_dir);
    if (!ca) {
        throw std::runtime_error("load CA: " + ca.error());
    }
    ca_fingerprint_ = ca.value().fingerprint();
    store_->put_ca_certificate(ca.value().certificate_pem(), ca_fingerprint_);

    set_config("host", server_address(0) + "," + server_address(1) + "," + server_address(2));
    set_config("indirect.agent.lb.algorithm", "roundrobin");
    set_config("indirect.agent.lb.check.interval", "0");
    for (const auto& [key, value] : options_.config) {
        set_config(key, value);
    }

    for (int i = 0; i < kServers; ++i) {
        start_server(i);
    }
    for (int i = 0; i < kServers; ++i) {
        const bool up = wait_until(
            [&] {
                return !servers_[i]->is_running() || server_ns_[i]->enter([] {
                    return http_get(kAdminPort, "/healthz", 500ms).status;
                }) == 200;
            },
            15s,
            50ms);
        if (!up || !servers_[i]->is_running()) {
            throw std::runtime_error(server_name(i) + " did not start; its log:\n" + servers_[i]->log());
        }
    }
    for (int i = 0; i < options_.agents; ++i) {
        start_agent(i);
    }
    const bool all_connected = wait_until(
        [&] {
            const auto where = placement();
            return static_cast<int>(where.size()) == options_.agents;
        },
        30s,
        100ms);
    if (!all_connected) {
        throw std::runtime_error("not every agent enrolled and connected within 30 s\n" + logs());
    }
}

MachineRoom::~MachineRoom() {
    agents_.clear();
    for (auto& server : servers_) {
        server->kill(SIGTERM);
    }
    for (auto& server : servers_) {
        server->wait(5s);
    }
    servers_.clear();
    store_.reset();
}

MachineRoom::DatabaseGuard::~DatabaseGuard() {
    if (!dir.empty()) {
        run_command({AGENTLB_PG_LOCAL, "stop", dir}, 30s);
    }
}

void MachineRoom::start_database() {
    const auto started = database_ns_->run(
        {AGENTLB_PG_LOCAL, "start", database_dir(), "--listen", kDatabaseIp, "--port", "5432", "--no-fsync"},
        60s);
    database_.dir = database_dir();
    if (started.exit_code != 0) {
        throw std::runtime_error("tools/pg_local.sh start in " + database_ns_->name() +
                                 " failed: " + started.err + started.out);
    }
    server_db_ = trimmed(started.out);
    // Local socket connections need no password (pg_local.sh), and the
    // socket is a file: the test process reaches the database without
    // entering its namespace.
    local_db_ = "host=" + database_dir() + "/socket port=5432 user=agentlb dbname=agentlb";
}

std::string MachineRoom::database_dir() const {
    return (dir_ / "pg").string();
}

void MachineRoom::database_command(const std::string& command) {
    const auto result = database_ns_->run({AGENTLB_PG_LOCAL, command, database_dir()}, 60s);
    if (result.exit_code != 0) {
        throw std::runtime_error("tools/pg_local.sh " + command + " failed: " + result.err + result.out);
    }
}

void MachineRoom::set_config(const std::string& key, const std::string& value) {
    auto result = store_->set_config(key, value);
    if (!result) {
        throw std::runtime_error("set_config " + key + ": " + result.error());
    }
}

void MachineRoom::start_server(int i) {
    const auto name = server_name(i);
    const auto ip = server_ip(i);
    std::vector<std::string> argv{mgmt_binary(),
                                  "--name",
                                  name,
                                  "--db",
                                  server_db_,
                                  "--ca-dir",
                                  (dir_ / "ca").string(),
                                  "--state-dir",
                                  (dir_ / ("state-" + name)).string(),
                                  "--listen",
                                  ip + ":8250",
                                  "--enroll-listen",
                                  ip + ":8251",
                                  "--admin-listen",
                                  "127.0.0.1:" + std::to_string(kAdminPort),
                                  "--log-level",
                                  "debug",
                                  // A dead link is noticed after 3 missed beats.
                                  "--heartbeat-interval",
                                  "1",
                                  "--server-heartbeat-interval",
                                  "1"};
    servers_.push_back(std::make_unique<Process>(server_ns_[i]->command(argv), dir_ / (name + ".log")));
}

void MachineRoom::start_agent(int i) {
    const auto name = agent_name(i);
    const auto home = dir_ / name;
    fs::create_directories(home);
    const auto token = certs::generate_join_token();
    store::TokenSpec spec;
    spec.hash = certs::hash_token(token);
    spec.created_at = util::unix_now();
    spec.expires_at = spec.created_at + 3600;
    store_->create_token(spec);
    std::vector<std::string> argv{AGENTLB_AGENT_BIN,
                                  "--config",
                                  (home / "agent.properties").string(),
                                  "--name",
                                  name,
                                  "--log-level",
                                  "debug",
                                  "--backoff-initial-ms",
                                  "200",
                                  "--backoff-cap-ms",
                                  "1000",
                                  "--connect-timeout-ms",
                                  "1000",
                                  "--welcome-timeout-ms",
                                  "3000",
                                  "--enroll-server",
                                  server_ip(i % kServers) + ":8251",
                                  "--enroll-token",
                                  token,
                                  "--ca-fingerprint",
                                  ca_fingerprint_};
    agents_.push_back(std::make_unique<Process>(agents_ns_->command(argv), home / "agent.log"));
}

nlohmann::json MachineRoom::status(int server) const {
    const auto response = server_ns_[server]->enter([] { return http_get(kAdminPort, "/v1/status", 1s); });
    if (response.status != 200) {
        return nlohmann::json();
    }
    return nlohmann::json::parse(response.body, nullptr, false);
}

int MachineRoom::healthz(int server) const {
    return server_ns_[server]->enter([] { return http_get(kAdminPort, "/healthz", 1s).status; });
}

void MachineRoom::reopen_store() {
    store_.reset();
    store_ = store::open_store(local_db_, store::OpenMode::existing);
}

std::optional<double> MachineRoom::metric(int server, const std::string& sample) const {
    const auto response = server_ns_[server]->enter([] { return http_get(kAdminPort, "/metrics", 1s); });
    if (response.status != 200) {
        return std::nullopt;
    }
    return metric_value(response.body, sample);
}

std::map<std::string, std::set<std::string>> MachineRoom::placement(const std::vector<int>& servers) const {
    std::vector<int> which = servers;
    if (which.empty()) {
        for (int i = 0; i < kServers; ++i) {
            which.push_back(i);
        }
    }
    std::map<std::string, std::set<std::string>> where;
    for (const int i : which) {
        const auto s = status(i);
        if (!s.is_object() || !s.contains("agents")) {
            continue;
        }
        for (const auto& agent : s["agents"]) {
            where[agent.value("name", "")].insert(server_name(i));
        }
    }
    return where;
}

std::optional<std::string> MachineRoom::agent_host_value(int agent) const {
    auto file = props::PropertiesFile::load(dir_ / agent_name(agent) / "agent.properties");
    if (!file) {
        return std::nullopt;
    }
    return file->get("host");
}

std::string MachineRoom::agent_log(int agent) const {
    return read_text(dir_ / agent_name(agent) / "agent.log");
}

int MachineRoom::agent_log_count(int agent, const std::string& text) const {
    const auto log = agent_log(agent);
    int count = 0;
    for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + text.size())) {
        ++count;
    }
    return count;
}

std::string MachineRoom::logs() const {
    std::string all;
    for (int i = 0; i < agent_count(); ++i) {
        all += "--- " + agent_name(i) + "\n" + tail_of(agent_log(i), 2500);
    }
    for (int i = 0; i < kServers; ++i) {
        all += "--- " + server_name(i) + "\n" + tail_of(read_text(dir_ / (server_name(i) + ".log")), 3000);
    }
    if (!database_.dir.empty()) {
        all += "--- postgresql\n" + tail_of(read_text(dir_ / "pg" / "server.log"), 1500);
    }
    return all;
}

}  // namespace agentlb::test
