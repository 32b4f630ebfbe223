#include "tests/support/three_servers.hpp"

#include "common/lb/host_list.hpp"
#include "common/util/atomic_file.hpp"
#include "tests/support/mgmt_server.hpp"
#include "tests/support/net_probe.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/wait.hpp"

#include <csignal>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace agentlb::test {

using namespace std::chrono_literals;

ClusterServer::ClusterServer(const CaFixture& fixture, std::string name)
    : ManagedServer(fixture, std::move(name), "127.0.0.1") {}

ClusterServer::~ClusterServer() {
    if (process_ && process_->is_running()) {
        // A second SIGTERM skips a shutdown drain: tests end fast.
        process_->kill(SIGTERM);
        if (!process_->wait(300ms)) {
            process_->kill(SIGTERM);
            process_->wait(5s);
        }
    }
}

void ClusterServer::signal(int signal) {
    if (process_) {
        process_->kill(signal);
    }
}

std::optional<int> ClusterServer::wait(std::chrono::milliseconds timeout) {
    return process_ ? process_->wait(timeout) : std::optional<int>(0);
}

std::optional<int> ClusterServer::stop(std::chrono::milliseconds timeout) {
    if (!process_) {
        return 0;
    }
    process_->kill(SIGTERM);
    auto code = process_->wait(timeout);
    if (!code) {
        process_->kill(SIGKILL);
        process_->wait(5s);
    }
    return code;
}

std::string ClusterServer::log() const {
    std::string all;
    for (int i = 1; i <= starts_; ++i) {
        std::ifstream in(fixture_.dir() / (name_ + "-" + std::to_string(i) + ".log"));
        std::stringstream text;
        text << in.rdbuf();
        all += text.str();
    }
    return all;
}

nlohmann::json ClusterServer::status() const {
    const auto response = http_get(admin_port_, "/v1/status", 1s);
    if (response.status != 200) {
        return nlohmann::json();
    }
    return nlohmann::json::parse(response.body, nullptr, false);
}

double ClusterServer::metric(const std::string& sample) const {
    return metric_value(http_get(admin_port_, "/metrics", 1s).body, sample).value_or(0.0);
}

std::string ClusterServer::metrics_text() const {
    const auto response = http_get(admin_port_, "/metrics", 1s);
    return response.status == 200 ? response.body : std::string();
}

ConnectionSampler::ConnectionSampler(std::string db, std::vector<std::string> hosts)
    : db_(std::move(db)), hosts_(std::move(hosts)) {}

ConnectionSampler::~ConnectionSampler() {
    stop();
}

void ConnectionSampler::start(std::chrono::milliseconds interval) {
    stop();
    {
        std::lock_guard lock(mutex_);
        samples_.clear();
        gaps_.clear();
        errors_.clear();
        started_ = Clock::now();
    }
    stop_.store(false);
    thread_ = std::thread([this, interval] { run(interval); });
}

void ConnectionSampler::stop() {
    stop_.store(true);
    if (thread_.joinable()) {
        thread_.join();
    }
}

void ConnectionSampler::run(std::chrono::milliseconds interval) {
    std::unique_ptr<store::Store> store;
    auto next = Clock::now();
    while (!stop_.load()) {
        try {
            if (!store) {
                store = store::open_store(db_, store::OpenMode::existing);
            }
            Sample sample;
            sample.at = Clock::now();
            std::map<std::string, std::optional<std::string>> all;
            for (auto& host : store->list_hosts()) {
                all[host.name] = host.connected_to;
            }
            for (const auto& name : hosts_) {
                const auto it = all.find(name);
                sample.where[name] = it == all.end() ? std::nullopt : it->second;
            }
            std::lock_guard lock(mutex_);
            for (const auto& [name, server] : sample.where) {
                if (!server) {
                    gaps_.push_back({name, sample.at});
                }
            }
            samples_.push_back(std::move(sample));
        } catch (const std::exception& e) {
            std::lock_guard lock(mutex_);
            errors_.emplace_back(e.what());
            store.reset();
        }
        next += interval;
        std::this_thread::sleep_until(next);
    }
}

std::vector<ConnectionSampler::Sample> ConnectionSampler::samples() const {
    std::lock_guard lock(mutex_);
    return samples_;
}

std::vector<ConnectionSampler::Gap> ConnectionSampler::gaps() const {
    std::lock_guard lock(mutex_);
    return gaps_;
}

std::vector<std::string> ConnectionSampler::errors() const {
    std::lock_guard lock(mutex_);
    return errors_;
}

std::string ConnectionSampler::describe_gaps() const {
    std::lock_guard lock(mutex_);
    std::string text;
    for (std::size_t i = 0; i < gaps_.size() && i < 20; ++i) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(gaps_[i].at - started_).count();
        text += (i == 0 ? "" : ", ") + gaps_[i].host + " at +" + std::to_string(ms) + " ms";
    }
    if (gaps_.size() > 20) {
        text += ", ... (" + std::to_string(gaps_.size()) + " in all)";
    }
    return text;
}

ThreeServers::ThreeServers(ThreeServersOptions options) : options_(std::move(options)) {
    for (int i = 1; i <= 3; ++i) {
        servers_.push_back(std::make_unique<ClusterServer>(fixture_, "ms" + std::to_string(i)));
        addresses_.push_back(servers_.back()->address());
    }
    fixture_.set_config("host", lb::join_host_list(addresses_));
    fixture_.set_config("indirect.agent.lb.algorithm", options_.algorithm);
    fixture_.set_config("indirect.agent.lb.check.interval", std::to_string(options_.check_interval));
    for (const auto& [key, value] : options_.config) {
        fixture_.set_config(key, value);
    }
    for (auto& server : servers_) {
        server->start(options_.server_args);
    }
    for (std::size_t i = 0; i < options_.agents; ++i) {
        auto agent = std::make_unique<AgentProcess>(agents_root_, "h" + std::to_string(i + 1));
        const auto identity = options_.zone ? fixture_.enroll(agent->name(), options_.zone(i))
                                            : fixture_.enroll(agent->name());
        install_credentials(*agent, identity.key_pem, identity.cert_pem, fixture_.ca_pem());
        const auto host = options_.initial_host ? options_.initial_host(i, addresses_)
                                                : lb::join_host_list(addresses_) + "@" + options_.algorithm;
        const bool written = util::write_file_atomically(agent->properties_path(),
                                                         "name=" + agent->name() + "\nzone=" + identity.zone +
                                                             "\nid=" + std::to_string(identity.host_id) +
                                                             "\nhost=" + host + "\nhost.lb.check.interval=" +
                                                             std::to_string(options_.check_interval) + "\n")
                                 .ok();
        if (!written) {
            throw std::runtime_error("cannot write " + agent->properties_path().string());
        }
        host_names_.push_back(agent->name());
        agents_.push_back(std::move(agent));
    }
    sampler_ = std::make_unique<ConnectionSampler>(fixture_.db_path(), host_names_);
    if (options_.start_agents) {
        start_agents();
    }
}

ThreeServers::~ThreeServers() {
    sampler_->stop();
    // Agents first: a server stopping with agents would drain them.
    for (auto& agent : agents_) {
        agent->kill(SIGKILL);
    }
    for (auto& agent : agents_) {
        agent->wait(5s);
    }
}

void ThreeServers::start_agents() {
    for (auto& agent : agents_) {
        agent->start();
    }
}

ClusterServer* ThreeServers::server_named(const std::string& name) {
    for (auto& server : servers_) {
        if (server->name() == name) {
            return server.get();
        }
    }
    return nullptr;
}

std::map<std::string, std::optional<std::string>> ThreeServers::where() {
    std::map<std::string, std::optional<std::string>> all;
    for (auto& host : fixture_.store().list_hosts()) {
        all[host.name] = host.connected_to;
    }
    return all;
}

bool ThreeServers::wait_all_connected(std::chrono::milliseconds timeout) {
    return wait_until(
        [this] {
            std::set<std::string> running;
            for (auto& server : servers_) {
                if (server->running()) {
                    running.insert(server->name());
                }
            }
            const auto all = where();
            for (const auto& name : host_names_) {
                const auto it = all.find(name);
                if (it == all.end() || !it->second || running.count(*it->second) == 0) {
                    return false;
                }
            }
            return true;
        },
        timeout,
        100ms);
}

std::size_t ThreeServers::count_on(const std::string& server) {
    std::size_t n = 0;
    for (const auto& [name, on] : where()) {
        if (on == std::optional<std::string>(server)) {
            ++n;
        }
    }
    return n;
}

std::string ThreeServers::layout() {
    std::map<std::string, std::size_t> counts;
    for (const auto& [name, on] : where()) {
        ++counts[on.value_or("none")];
    }
    std::string text;
    for (const auto& [server, n] : counts) {
        text += (text.empty() ? "" : ", ") + server + ": " + std::to_string(n);
    }
    return text;
}

std::string ThreeServers::logs() {
    std::string text;
    for (auto& server : servers_) {
        // Info and above: debug lines would crowd out what matters.
        std::string shown;
        std::istringstream lines(server->log());
        for (std::string line; std::getline(lines, line);) {
            if (line.find(" debug ") == std::string::npos) {
                shown += line + "\n";
            }
        }
        text += "--- " + server->name() + "\n" + tail(shown, 3000) + "\n";
    }
    if (!agents_.empty()) {
        text += "--- " + agents_[0]->name() + "\n" + tail(agents_[0]->log(), 2000) + "\n";
    }
    return text;
}

}  // namespace agentlb::test
