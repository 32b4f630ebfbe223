#pragma once

// HAProxy in front of the bench's servers, for the kill-return scenario's
// comparison (issue 18): TCP passthrough (the agents' mTLS goes through
// untouched, end to end), `balance leastconn`, and a health check of each
// server's /healthz on its admin port. The agents then know only the one
// address HAProxy listens on. HAProxy runs in the foreground as the bench's
// child and dies with it.

#include "common/util/result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace agentlb::bench {

struct ProxiedServer {
    std::string name;
    std::uint16_t port = 0;        // agents' TLS port: where the traffic goes
    std::uint16_t admin_port = 0;  // /healthz: where the health check goes
};

struct HaproxySettings {
    std::uint16_t listen_port = 0;  // on 127.0.0.1
    std::vector<ProxiedServer> servers;
    std::size_t max_connections = 1000;  // client side; HAProxy needs about twice as many descriptors
    // Health check period, and checks in a row that mark a server down / up again.
    std::chrono::milliseconds check_interval{1000};
    int fall = 2;
    int rise = 2;
};

// The haproxy.cfg text. A connection whose server refuses it is retried on
// another server (`option redispatch`), so a killed server costs agents a
// retry inside HAProxy, not a failed handshake, even before the checks see
// it down. Idle timeouts are far above any heartbeat interval: the sessions
// are long-lived and quiet.
std::string haproxy_config(const HaproxySettings& settings);

class HaproxyProcess {
public:
    // Writes `config_path`, starts `binary -db -f config_path` with its output
    // in `log_file`, and waits until 127.0.0.1:listen_port accepts; the
    // failure quotes the log's tail.
    static Result<std::unique_ptr<HaproxyProcess>> start(const std::string& binary,
                                                         const HaproxySettings& settings,
                                                         const std::filesystem::path& config_path,
                                                         const std::filesystem::path& log_file,
                                                         std::chrono::seconds timeout);
    ~HaproxyProcess();  // SIGTERM, then SIGKILL after 5 s; always reaped

    HaproxyProcess(const HaproxyProcess&) = delete;
    HaproxyProcess& operator=(const HaproxyProcess&) = delete;

    pid_t pid() const { return pid_; }
    // "127.0.0.1:PORT": the one address the agents are given.
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    HaproxyProcess(pid_t pid, std::uint16_t port) : pid_(pid), port_(port) {}
    bool reaped(std::chrono::milliseconds timeout);

    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    bool reaped_ = false;
};

}  // namespace agentlb::bench
