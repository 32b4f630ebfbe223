#pragma once

// The agentlb-mgmt processes a benchmark runs against: started by the bench
// on loopback with its own ports, log file and state folder, watched through
// /proc, and stopped (or SIGKILLed, for failover) by it. A child gets SIGKILL
// if the bench dies, so an interrupted run leaves nothing behind.

#include "common/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace agentlb::bench {

struct MgmtSpec {
    std::string binary;
    std::string name;
    std::string db;
    std::string ca_dir;
    std::string state_dir;
    std::uint16_t port = 0;
    std::uint16_t enroll_port = 0;
    std::uint16_t admin_port = 0;
    int threads = 2;
    std::vector<std::string> extra_args;
    std::filesystem::path log_file;
    // --app-socket (messages scenario); empty: none.
    std::string app_socket;
    // --peer-listen IP:PORT (messages on several servers: the servers relay
    // app messages to each other); empty: none.
    std::string peer_listen;
};

class MgmtProcess {
public:
    // Starts it and waits until /healthz answers; the failure quotes the log's tail.
    static Result<std::unique_ptr<MgmtProcess>> start(const MgmtSpec& spec, std::chrono::seconds timeout);
    ~MgmtProcess();  // SIGTERM, then SIGKILL after 10 s; always reaped

    MgmtProcess(const MgmtProcess&) = delete;
    MgmtProcess& operator=(const MgmtProcess&) = delete;

    pid_t pid() const { return pid_; }
    const MgmtSpec& spec() const { return spec_; }
    // "127.0.0.1:PORT", what agents dial and `host` lists.
    std::string address() const;

    void kill(int signal);
    // True once it has exited (reaps it).
    bool exited();
    // Exit status if it ended within `timeout`.
    std::optional<int> wait(std::chrono::milliseconds timeout);

private:
    MgmtProcess(MgmtSpec spec, pid_t pid) : spec_(std::move(spec)), pid_(pid) {}

    MgmtSpec spec_;
    pid_t pid_ = -1;
    bool reaped_ = false;
};

// Forks and execs argv with stdout+stderr into log_file (or /dev/null when
// empty) and `keep_fd` (if >= 0) as descriptor 3. The child dies with us.
Result<pid_t> spawn_child(const std::vector<std::string>& argv,
                          const std::filesystem::path& log_file,
                          int keep_fd);

// A free port on 127.0.0.1 at or after `next` (which is advanced), below the
// ephemeral range so that outgoing connections never take it meanwhile.
Result<std::uint16_t> find_free_port(std::uint16_t& next);

// Blocking GET http://127.0.0.1:port{path}; the body when the status is 200.
Result<std::string> http_get(std::uint16_t port, const std::string& path, std::chrono::milliseconds timeout);

// The value of an unlabelled Prometheus sample ("agentlb_agents_connected 12").
std::optional<double> metric_value(const std::string& metrics_text, const std::string& name);

// The last `max` bytes of a file, for error messages.
std::string tail_of(const std::filesystem::path& path, std::size_t max = 2000);

}  // namespace agentlb::bench
