#pragma once

// A real agentlb-mgmt process on loopback for integration tests, with its
// three ports picked free, its log in the fixture's temp folder, and helpers
// for its admin endpoint. The binary comes from AGENTLB_MGMT_BIN, set by
// CMake from $<TARGET_FILE:agentlb-mgmt>.

#include "tests/support/ca_fixture.hpp"
#include "tests/support/net_probe.hpp"
#include "tests/support/process.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::test {

std::string mgmt_binary();

// The command line of an agentlb-mgmt called `name` on the fixture's store
// and CA (state in the fixture's folder), listening on the three addresses,
// with debug logs.
std::vector<std::string> mgmt_command_line(const CaFixture& fixture,
                                           const std::string& name,
                                           const std::string& listen,
                                           const std::string& enroll_listen,
                                           const std::string& admin_listen);

class MgmtServer {
public:
    // Starts the server and waits until /healthz answers (throws with the
    // log's content when it does not within 10 s). A `--db VALUE` in
    // `extra_args` replaces the fixture's.
    MgmtServer(const CaFixture& fixture, std::string name, std::vector<std::string> extra_args = {});
    // Stops it with SIGTERM, a second one after 300 ms (ending a shutdown
    // drain), SIGKILL after 5 s more; a server that exits
    // uncleanly, or whose log shows a sanitizer report, has its log printed.
    ~MgmtServer();
    MgmtServer(const MgmtServer&) = delete;
    MgmtServer& operator=(const MgmtServer&) = delete;

    // SIGTERM and wait: the exit code, or nothing if it did not exit in time.
    std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // No AddressSanitizer/UBSan report in its log.
    bool sanitizer_clean() const;

    const std::string& name() const { return name_; }
    // What agents dial and what `host` lists: "127.0.0.1:PORT".
    std::string address() const;
    std::string enroll_address() const;
    std::uint16_t port() const { return port_; }
    std::uint16_t enroll_port() const { return enroll_port_; }
    std::uint16_t admin_port() const { return admin_port_; }

    Process& process() { return *process_; }
    std::string log() const { return process_->log(); }

    std::string metrics() const;
    // 0 when the sample is absent (counters not yet touched).
    double metric(const std::string& sample) const;
    nlohmann::json status() const;

private:
    std::string name_;
    std::uint16_t port_ = 0;
    std::uint16_t enroll_port_ = 0;
    std::uint16_t admin_port_ = 0;
    std::unique_ptr<Process> process_;
};

}  // namespace agentlb::test
