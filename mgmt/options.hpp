#pragma once

// Command line and config file of agentlb-mgmt, parsed into a typed struct.
//
// Every value is checked here, so a mistake stops the daemon at start with a
// message naming the option (exit code 2) instead of failing later.

#include "common/tls/timeouts.hpp"
#include "common/util/result.hpp"
#include "mgmt/agent_history.hpp"
#include "mgmt/hook_event.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <spdlog/common.h>

#include <chrono>
#include <optional>
#include <string>

namespace agentlb::mgmt {

// The agent port's timeouts are shared with the agent (common/tls/timeouts.hpp);
// only the server-to-server heartbeat is mgmt's own.
inline constexpr std::chrono::seconds kDefaultHeartbeatInterval = tls::kHeartbeatInterval;
inline constexpr int kMissedHeartbeatsBeforeDead = tls::kMissedHeartbeatsBeforeDead;
inline constexpr std::chrono::seconds kDefaultHandshakeTimeout = tls::kHandshakeTimeout;
inline constexpr std::chrono::seconds kDefaultServerHeartbeatInterval{2};
inline constexpr int kDefaultHookConcurrency = 4;
inline constexpr std::chrono::seconds kDefaultHookTimeout{10};

struct Options {
    std::string name;
    // An SQLite path or a PostgreSQL connection string (store_location.hpp):
    // shown to a person only through store::shown_location (it may hold a password).
    std::string db;
    std::string ca_dir;
    std::string state_dir;
    boost::asio::ip::tcp::endpoint listen;
    boost::asio::ip::tcp::endpoint enroll_listen;
    boost::asio::ip::tcp::endpoint admin_listen;
    // What agents dial, "name-or-ip[:port]" as in the `host` key (port 8250
    // when omitted); it must equal one of the `host` entries.
    std::string advertise;
    spdlog::level::level_enum log_level = spdlog::level::info;
    int threads = 1;
    // Hidden, for tests: the agent heartbeat interval sent in `welcome`
    // (a session is dropped after kMissedHeartbeatsBeforeDead of them).
    std::chrono::seconds heartbeat_interval = kDefaultHeartbeatInterval;
    // Hidden, for tests: how often this server heartbeats its store row;
    // peers older than kMissedHeartbeatsBeforeDead intervals count as down.
    std::chrono::seconds server_heartbeat_interval = kDefaultServerHeartbeatInterval;
    // Hidden, for tests: TLS handshake + hello deadline, and enrollment deadline.
    std::chrono::seconds handshake_timeout = kDefaultHandshakeTimeout;
    // Hidden, for tests: the generation poll while the store's change feed
    // works (default kSafetyPoll in cluster_watcher.hpp); a test that sets it
    // long proves a change came by notification.
    std::optional<std::chrono::milliseconds> safety_poll;
    // Hidden, for tests: how often the TLS ticket keys are refreshed from
    // the store (ticket_key_refresh.hpp), so a test sees a rotation at once.
    std::chrono::milliseconds ticket_key_refresh{10000};
    // --hook: the membership hook program, run for each event (empty: none;
    // see hook_runner.hpp), with at most hook_concurrency runs at once, each
    // killed after hook_timeout.
    std::string hook;
    // --app-socket, --app-socket-group (issue 19): where the platform's
    // management application connects (empty: no socket).
    std::string app_socket;
    std::string app_socket_group;
    // --peer-listen (issue 19): the peer link between servers; none: app
    // messages reach only hosts and applications on this server.
    std::optional<boost::asio::ip::tcp::endpoint> peer_listen;
    int hook_concurrency = kDefaultHookConcurrency;
    std::chrono::seconds hook_timeout = kDefaultHookTimeout;
    // Hidden, for tests: events waiting for a hook process at most (kHookQueueLimit).
    std::size_t hook_queue = kHookQueueLimit;
    // Hidden, for tests: the load-aware rebalancer's hold time instead of
    // the behaviour's, and seconds added to the clock its schedule reads.
    std::optional<std::chrono::seconds> rebalance_hold;
    std::chrono::seconds schedule_offset{0};
    // Hidden, for tests: how often the status page's history takes a sample.
    std::chrono::milliseconds history_sample_period = kHistorySamplePeriod;
};

// Values that come from the environment, passed in so tests control them.
struct OptionDefaults {
    std::optional<std::string> db_from_env;  // $AGENTLB_DB
    std::string hostname;                    // for --advertise when --listen is a wildcard
};

OptionDefaults environment_defaults();

struct ParsedOptions {
    enum class Action { run, help, version };
    Action action = Action::run;
    std::string text;  // usage or version text for help/version
    Options options;
};

Result<ParsedOptions> parse_options(int argc, const char* const argv[], const OptionDefaults& defaults);

// "ip:port" or "[ipv6]:port"; the port is required and the address must be
// an IP literal (a bind address, not a name).
Result<boost::asio::ip::tcp::endpoint> parse_bind_address(std::string_view text, std::string_view option);

}  // namespace agentlb::mgmt
