#pragma once

// Command-line options of agentlb-agent, parsed into a typed struct.
//
// Parsing does not look at the file system or the network: main() decides
// what to do with the result (enrol, run, print help).

#include "common/lb/endpoint.hpp"
#include "common/tls/timeouts.hpp"
#include "common/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>

namespace agentlb::agent {

inline constexpr const char* kDefaultConfigPath = "/etc/agentlb/agent.properties";
inline constexpr std::uint16_t kDefaultEnrollPort = 8251;

struct EnrollOptions {
    std::string server;          // HOST:PORT of the enrollment port, as given
    lb::Endpoint endpoint;       // parsed; port 8251 when none was given
    std::string token;           // one-time join token
    std::string ca_fingerprint;  // "sha256:HEX" of the CA certificate
};

// The agent's own timings; the ones it shares with the servers are in
// common/tls/timeouts.hpp.
inline constexpr std::chrono::seconds kConnectTimeout{5};
inline constexpr std::chrono::seconds kBackoffInitial{1};
inline constexpr std::chrono::seconds kBackoffCap{60};
inline constexpr std::chrono::hours kRenewalCheckInterval{1};
// The metrics file is rewritten at least this often, so its write time shows the
// agent is alive (the AgentlbAgentMetricsStale alert waits two minutes).
inline constexpr std::chrono::seconds kMetricsFileInterval{10};

// Durations that only tests change (hidden flags); defaults are the product's.
struct Tuning {
    std::chrono::milliseconds heartbeat_interval{tls::kHeartbeatInterval};  // until `welcome` names one
    std::chrono::milliseconds connect_timeout{kConnectTimeout};             // TCP connect per entry
    std::chrono::milliseconds welcome_timeout{tls::kHandshakeTimeout};  // TLS handshake + hello -> welcome
    std::chrono::milliseconds backoff_initial{kBackoffInitial};         // first wait after a failed pass
    std::chrono::milliseconds backoff_cap{kBackoffCap};
    std::chrono::milliseconds renewal_check_interval{kRenewalCheckInterval};
    std::chrono::milliseconds metrics_file_interval{kMetricsFileInterval};  // --metrics-file rewrites
};

struct AgentOptions {
    std::filesystem::path config_path{kDefaultConfigPath};
    std::string log_level{"info"};
    std::string name;                     // defaults to the machine's host name
    std::string zone;                     // empty: the token's zone or the server's default
    std::optional<EnrollOptions> enroll;  // set when any enrolment flag was given
    // --metrics-file: where to write the figures for node_exporter's textfile collector.
    std::optional<std::filesystem::path> metrics_file;
    // --app-socket, --app-socket-group (issue 19): the host's own software's socket.
    std::optional<std::filesystem::path> app_socket;
    std::string app_socket_group;
    Tuning tuning;
};

// What the command line asks for: run with options, or print text and exit 0.
struct PrintAndExit {
    std::string text;
};
using ParsedCommandLine = std::variant<AgentOptions, PrintAndExit>;

// Refuses unknown flags, bad values and incomplete enrolment flags with a
// reason naming the flag. `default_name` is used when --name is absent.
Result<ParsedCommandLine> parse_options(int argc, const char* const* argv, const std::string& default_name);

// The machine's host name, or "localhost" when it cannot be read.
std::string machine_host_name();

}  // namespace agentlb::agent
