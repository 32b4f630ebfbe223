#include "tests/agent/agent_cluster.hpp"

#include "common/props/properties_file.hpp"
#include "common/util/atomic_file.hpp"
#include "tests/support/mgmt_server.hpp"
#include "tests/support/net_probe.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <signal.h>
#include <sstream>
#include <stdexcept>

#ifndef AGENTLB_AGENT_BIN
#error "AGENTLB_AGENT_BIN must be set by CMake ($<TARGET_FILE:agentlb-agent>)"
#endif

namespace agentlb::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string agent_binary() {
    return AGENTLB_AGENT_BIN;
}

std::string tail(const std::string& text, std::size_t n) {
    return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

ManagedServer::ManagedServer(const CaFixture& fixture, std::string name, std::string ip)
    : fixture_(fixture), name_(std::move(name)), ip_(std::move(ip)) {
    port_ = free_port();
    do {
        enroll_port_ = free_port();
    } while (enroll_port_ == port_);
    do {
        admin_port_ = free_port();
    } while (admin_port_ == port_ || admin_port_ == enroll_port_);
}

void ManagedServer::start(const std::vector<std::string>& extra) {
    ++starts_;
    auto argv = mgmt_command_line(fixture_, name_, address(), enroll_address(), loopback(admin_port_));
    argv.insert(argv.end(), {"--heartbeat-interval", "1", "--server-heartbeat-interval", "1"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ =
        std::make_unique<Process>(argv, fixture_.dir() / (name_ + "-" + std::to_string(starts_) + ".log"));
    const bool up = wait_until(
        [this] { return !process_->is_running() || http_get(admin_port_, "/healthz", 500ms).status == 200; },
        10s);
    if (!up || !process_->is_running()) {
        throw std::runtime_error("agentlb-mgmt " + name_ + " did not start; its log:\n" + process_->log());
    }
}

void ManagedServer::kill() {
    if (process_) {
        process_->kill(SIGKILL);
        process_->wait(5s);
    }
}

bool ManagedServer::running() {
    return process_ && process_->is_running();
}

std::string ManagedServer::log() const {
    return process_ ? process_->log() : std::string();
}

AgentProcess::AgentProcess(const TempDir& root, std::string name)
    : name_(std::move(name)), dir_(root / name_) {
    fs::create_directories(dir_);
}

void AgentProcess::start(const std::vector<std::string>& extra) {
    ++starts_;
    std::vector<std::string> argv{agent_binary(),
                                  "--config",
                                  properties_path().string(),
                                  "--log-level",
                                  "debug",
                                  "--backoff-initial-ms",
                                  "200",
                                  "--backoff-cap-ms",
                                  "2000",
                                  "--connect-timeout-ms",
                                  "2000",
                                  "--welcome-timeout-ms",
                                  "3000"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<Process>(argv, dir_ / ("agent-" + std::to_string(starts_) + ".log"));
}

void AgentProcess::start_enrolling(CaFixture& fixture,
                                   const ManagedServer& server,
                                   const std::vector<std::string>& extra) {
    auto args = enrolment_options(server, fixture.create_token(), fixture.anchor_fingerprint());
    args.insert(args.end(), {"--name", name_});
    args.insert(args.end(), extra.begin(), extra.end());
    start(args);
}

void AgentProcess::kill(int signal) {
    if (process_) {
        process_->kill(signal);
    }
}

std::optional<int> AgentProcess::wait(std::chrono::milliseconds timeout) {
    return process_ ? process_->wait(timeout) : std::optional<int>(0);
}

bool AgentProcess::running() {
    return process_ && process_->is_running();
}

std::optional<std::string> AgentProcess::host_value() const {
    auto file = props::PropertiesFile::load(properties_path());
    if (!file) {
        return std::nullopt;
    }
    return file->get("host");
}

std::string AgentProcess::log() const {
    std::string all;
    for (int i = 1; i <= starts_; ++i) {
        std::ifstream in(dir_ / ("agent-" + std::to_string(i) + ".log"));
        std::stringstream text;
        text << in.rdbuf();
        all += text.str();
    }
    return all;
}

std::vector<std::string> enrolment_options(const ManagedServer& server,
                                           const std::string& token,
                                           const std::string& ca_fingerprint) {
    return {"--enroll-server",
            server.enroll_address(),
            "--enroll-token",
            token,
            "--ca-fingerprint",
            ca_fingerprint};
}

void install_credentials(const AgentProcess& agent,
                         const std::string& key_pem,
                         const std::string& cert_pem,
                         const std::string& ca_pem) {
    REQUIRE(util::write_file_atomically(agent.dir() / "agent.key", key_pem, 0600).ok());
    REQUIRE(util::write_file_atomically(agent.dir() / "agent.crt", cert_pem).ok());
    REQUIRE(util::write_file_atomically(agent.dir() / "ca.crt", ca_pem).ok());
}

std::optional<std::string> connected_to(CaFixture& fixture, const std::string& host) {
    auto record = fixture.store().find_host(host);
    if (!record) {
        return std::nullopt;
    }
    return record->connected_to;
}

}  // namespace agentlb::test
