#include "agent/options.hpp"

#include "certs/fingerprint.hpp"
#include "common/lb/endpoint.hpp"
#include "common/util/host_name.hpp"
#include "common/util/zone_name.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <sstream>
#include <unistd.h>

namespace agentlb::agent {

namespace po = boost::program_options;

namespace {

constexpr std::array kLogLevels{"trace", "debug", "info", "warn", "error", "critical", "off"};

constexpr const char* kUsage =
    "Usage: agentlb-agent [OPTIONS]\n"
    "\n"
    "Keeps this host connected to one of its management servers, in the order\n"
    "they send, and stores that order in the properties file.\n"
    "\n"
    "First start (no certificate yet): enrol with a join token from\n"
    "`agentlbctl token create`:\n"
    "  agentlb-agent --enroll-server HOST:8251 --enroll-token TOKEN \\\n"
    "                --ca-fingerprint sha256:HEX [--name NAME] [--zone ZONE]\n"
    "Once a certificate exists the enrolment options are ignored.\n";

Status check_duration(const char* flag, std::int64_t ms) {
    if (ms <= 0) {
        return fail(std::string("--") + flag + ": must be a positive number of milliseconds");
    }
    return success();
}

}  // namespace

std::string machine_host_name() {
    std::array<char, HOST_NAME_MAX + 1> buffer{};
    if (::gethostname(buffer.data(), buffer.size() - 1) != 0 || buffer[0] == '\0') {
        return "localhost";
    }
    return std::string(buffer.data());
}

Result<ParsedCommandLine> parse_options(int argc, const char* const* argv, const std::string& default_name) {
    AgentOptions options;
    std::string config;
    std::string enroll_server;
    std::string enroll_token;
    std::string fingerprint;
    std::string metrics_file;
    std::string app_socket;
    std::int64_t heartbeat_ms = options.tuning.heartbeat_interval.count();
    std::int64_t connect_ms = options.tuning.connect_timeout.count();
    std::int64_t welcome_ms = options.tuning.welcome_timeout.count();
    std::int64_t backoff_initial_ms = options.tuning.backoff_initial.count();
    std::int64_t backoff_cap_ms = options.tuning.backoff_cap.count();
    std::int64_t renewal_ms = options.tuning.renewal_check_interval.count();
    std::int64_t metrics_ms = options.tuning.metrics_file_interval.count();

    po::options_description visible("Options");
    visible.add_options()                                                                           //
        ("help", "show this help and exit")                                                         //
        ("version", "show the version and exit")                                                    //
        ("config", po::value(&config)->default_value(kDefaultConfigPath), "agent properties file")  //
        ("log-level",
         po::value(&options.log_level)->default_value("info"),
         "trace, debug, info, warn, error, critical or off")                                                //
        ("name", po::value(&options.name), "host name to enrol as (default: this machine's host name)")     //
        ("zone", po::value(&options.zone), "zone to enrol into (default: the token's zone, else default)")  //
        ("metrics-file",
         po::value(&metrics_file),
         "write the agent's metrics to this file for node_exporter's textfile collector (a .prom file in "
         "the folder its collector.textfile.directory flag names)")  //
        ("app-socket",
         po::value(&app_socket),
         "listen on this Unix socket for the host's own agent software (its messages to and from the "
         "management application; e.g. /run/agentlb/app.sock)")  //
        ("app-socket-group",
         po::value(&options.app_socket_group),
         "the group allowed to use --app-socket (mode 0660; default: the agent's own group)");
    po::options_description enrolment("Enrolment (used only while no certificate exists)");
    enrolment.add_options()                                                                                //
        ("enroll-server", po::value(&enroll_server), "enrollment port of a management server, HOST:PORT")  //
        ("enroll-token", po::value(&enroll_token), "one-time join token")                                  //
        ("ca-fingerprint", po::value(&fingerprint), "expected CA certificate fingerprint, sha256:HEX");
    po::options_description hidden;
    hidden.add_options()                                        //
        ("heartbeat-interval-ms", po::value(&heartbeat_ms))     //
        ("connect-timeout-ms", po::value(&connect_ms))          //
        ("welcome-timeout-ms", po::value(&welcome_ms))          //
        ("backoff-initial-ms", po::value(&backoff_initial_ms))  //
        ("backoff-cap-ms", po::value(&backoff_cap_ms))          //
        ("renewal-check-interval-ms", po::value(&renewal_ms))   //
        ("metrics-interval-ms", po::value(&metrics_ms));
    po::options_description all;
    all.add(visible).add(enrolment).add(hidden);

    po::variables_map vm;
    try {
        // No short options and no guessing: every flag is spelled out.
        const auto style = po::command_line_style::unix_style & ~po::command_line_style::allow_guessing &
                           ~po::command_line_style::allow_short;
        // No positional arguments: a stray word is a mistake, not something to ignore.
        const po::positional_options_description none;
        po::store(po::command_line_parser(argc, argv).options(all).positional(none).style(style).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return fail(std::string(e.what()) + " (see --help)");
    }

    if (vm.count("help") != 0) {
        std::ostringstream text;
        text << kUsage << '\n' << visible << '\n' << enrolment << '\n';
        return ParsedCommandLine{PrintAndExit{text.str()}};
    }
    if (vm.count("version") != 0) {
        return ParsedCommandLine{PrintAndExit{std::string("agentlb-agent ") + AGENTLB_VERSION + "\n"}};
    }

    if (config.empty()) {
        return fail("--config: the path is empty");
    }
    options.config_path = config;
    if (vm.count("metrics-file") != 0) {
        if (metrics_file.empty()) {
            return fail("--metrics-file: the path is empty");
        }
        options.metrics_file = metrics_file;
    }
    if (vm.count("app-socket") != 0) {
        if (app_socket.empty()) {
            return fail("--app-socket: the path is empty");
        }
        options.app_socket = app_socket;
    } else if (vm.count("app-socket-group") != 0) {
        return fail("--app-socket-group: only with --app-socket");
    }
    if (std::find(kLogLevels.begin(), kLogLevels.end(), options.log_level) == kLogLevels.end()) {
        return fail("--log-level: '" + options.log_level +
                    "' is not one of trace, debug, info, warn, error, critical, off");
    }
    if (vm.count("name") != 0 && options.name.empty()) {
        return fail("--name: the name is empty");
    }
    if (options.name.empty()) {
        options.name = default_name;
    }
    // Sent at enrolment and in every hello while the file holds no zone.
    // Empty: not given (the token's zone, else the server's default).
    if (!options.zone.empty()) {
        if (auto valid = util::check_zone(options.zone); !valid) {
            return fail("--zone: " + valid.error());
        }
    }

    const bool any_enrolment =
        vm.count("enroll-server") + vm.count("enroll-token") + vm.count("ca-fingerprint") != 0;
    if (any_enrolment) {
        if (enroll_server.empty() || enroll_token.empty() || fingerprint.empty()) {
            return fail("enrolment needs all of --enroll-server, --enroll-token and --ca-fingerprint");
        }
        auto endpoint = lb::parse_endpoint(enroll_server);
        if (!endpoint) {
            return fail("--enroll-server: " + endpoint.error());
        }
        // parse_endpoint defaults to the agent port; the enrollment port is another one.
        const bool has_port = enroll_server.front() == '[' ? enroll_server.find("]:") != std::string::npos
                                                           : enroll_server.find(':') != std::string::npos;
        if (!has_port) {
            endpoint->port = kDefaultEnrollPort;
        }
        auto pin = certs::normalize_fingerprint(fingerprint);
        if (!pin) {
            return fail("--ca-fingerprint: " + pin.error() +
                        " (use the value `agentlbctl token create` prints)");
        }
        // The enrollment port refuses anything else; refuse it here, before a token is sent.
        if (auto valid = util::check_host_name(options.name); !valid) {
            const bool given = vm.count("name") != 0;
            return fail(
                "--name: " + valid.error() +
                (given ? std::string() : std::string(" (this machine's host name; give --name NAME)")));
        }
        options.enroll = EnrollOptions{enroll_server, *endpoint, enroll_token, *pin};
    }

    const std::array<std::pair<const char*, std::int64_t>, 7> durations{{
        {"heartbeat-interval-ms", heartbeat_ms},
        {"connect-timeout-ms", connect_ms},
        {"welcome-timeout-ms", welcome_ms},
        {"backoff-initial-ms", backoff_initial_ms},
        {"backoff-cap-ms", backoff_cap_ms},
        {"renewal-check-interval-ms", renewal_ms},
        {"metrics-interval-ms", metrics_ms},
    }};
    for (const auto& [flag, ms] : durations) {
        if (auto ok = check_duration(flag, ms); !ok) {
            return fail(ok.error());
        }
    }
    if (backoff_cap_ms < backoff_initial_ms) {
        return fail("--backoff-cap-ms: must not be below --backoff-initial-ms");
    }
    options.tuning.heartbeat_interval = std::chrono::milliseconds(heartbeat_ms);
    options.tuning.connect_timeout = std::chrono::milliseconds(connect_ms);
    options.tuning.welcome_timeout = std::chrono::milliseconds(welcome_ms);
    options.tuning.backoff_initial = std::chrono::milliseconds(backoff_initial_ms);
    options.tuning.backoff_cap = std::chrono::milliseconds(backoff_cap_ms);
    options.tuning.renewal_check_interval = std::chrono::milliseconds(renewal_ms);
    options.tuning.metrics_file_interval = std::chrono::milliseconds(metrics_ms);
    return ParsedCommandLine{std::move(options)};
}

}  // namespace agentlb::agent
