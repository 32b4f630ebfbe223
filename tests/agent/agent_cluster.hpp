#pragma once

// Real agentlb-mgmt and agentlb-agent processes for the agent's integration
// tests. Unlike tests/support's MgmtServer, a server here listens on a
// chosen loopback address (127.0.0.1, .2, .3) and keeps its ports across a
// SIGKILL and restart, as the agents' lists name it.

#include "tests/support/ca_fixture.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::test {

std::string agent_binary();

// The end of a log for a failure message: its last `n` characters.
std::string tail(const std::string& text, std::size_t n = 4000);

class ManagedServer {
public:
    // Picks free ports; does not start the process.
    ManagedServer(const CaFixture& fixture, std::string name, std::string ip);

    // Starts (again) on the same address and ports, with `extra` after the
    // usual flags (heartbeats of 1 s); waits for /healthz (throws with the
    // log when it does not come in 10 s).
    void start(const std::vector<std::string>& extra = {});
    void kill();  // SIGKILL, then reap
    bool running();

    const std::string& name() const { return name_; }
    std::string address() const { return ip_ + ":" + std::to_string(port_); }
    std::string enroll_address() const { return ip_ + ":" + std::to_string(enroll_port_); }
    std::uint16_t admin_port() const { return admin_port_; }
    // The current start's log.
    std::string log() const;

protected:
    const CaFixture& fixture_;
    std::string name_;
    std::string ip_;
    std::uint16_t port_ = 0;
    std::uint16_t enroll_port_ = 0;
    std::uint16_t admin_port_ = 0;
    int starts_ = 0;
    std::unique_ptr<Process> process_;
};

class AgentProcess {
public:
    AgentProcess(const TempDir& root, std::string name);

    // --config DIR/agent.properties, debug logs, fast backoff, plus `extra`.
    void start(const std::vector<std::string>& extra = {});
    // Enrolment flags for `server` with a fresh token from the fixture.
    void start_enrolling(CaFixture& fixture,
                         const ManagedServer& server,
                         const std::vector<std::string>& extra = {});
    void kill(int signal);
    std::optional<int> wait(std::chrono::milliseconds timeout);
    bool running();

    const std::string& name() const { return name_; }
    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path properties_path() const { return dir_ / "agent.properties"; }
    // The `host` value; nothing when the file is missing or does not parse.
    std::optional<std::string> host_value() const;
    // Every log line so far, across restarts.
    std::string log() const;

private:
    std::string name_;
    std::filesystem::path dir_;
    int starts_ = 0;
    std::unique_ptr<Process> process_;
};

// The options that enrol an agent at `server` with `token`, pinning the CA
// fingerprint `ca_fingerprint`.
std::vector<std::string> enrolment_options(const ManagedServer& server,
                                           const std::string& token,
                                           const std::string& ca_fingerprint);

// Writes the agent's key (mode 0600), certificate and CA beside its
// properties file, as enrolment leaves them.
void install_credentials(const AgentProcess& agent,
                         const std::string& key_pem,
                         const std::string& cert_pem,
                         const std::string& ca_pem);

// The store's idea of where a host is connected (server name).
std::optional<std::string> connected_to(CaFixture& fixture, const std::string& host);

}  // namespace agentlb::test
