#include "mgmt/options.hpp"

#include "common/lb/endpoint.hpp"
#include "common/store/store_location.hpp"

#include <boost/program_options.hpp>

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <unistd.h>

namespace agentlb::mgmt {

namespace po = boost::program_options;

namespace {

constexpr const char* kVersion = "agentlb-mgmt 0.1.0";
constexpr std::string_view kDefaultDb = "/var/lib/agentlb/agentlb.db";
// A PostgreSQL --db names no folder of this machine: the package's state folder.
constexpr std::string_view kDefaultPostgresqlStateDir = "/var/lib/agentlb";

// The server's name becomes part of file names (NAME.key, NAME.crt).
Status check_name(const std::string& name) {
    if (name.empty()) {
        return fail("--name is required (this server's unique name, e.g. --name ms1)");
    }
    if (name.size() > 64) {
        return fail(fmt::format("--name '{}' is longer than 64 characters", name));
    }
    if (name.front() == '.' || name.front() == '-') {
        return fail(fmt::format("--name '{}' must not start with '.' or '-'", name));
    }
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '.' || c == '-' || c == '_';
        if (!ok) {
            return fail(fmt::format("--name '{}' may only hold letters, digits, '.', '-' and '_'", name));
        }
    }
    return success();
}

Result<spdlog::level::level_enum> parse_log_level(const std::string& text) {
    static constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 5> kLevels{{
        {"trace", spdlog::level::trace},
        {"debug", spdlog::level::debug},
        {"info", spdlog::level::info},
        {"warn", spdlog::level::warn},
        {"error", spdlog::level::err},
    }};
    for (const auto& [name, level] : kLevels) {
        if (text == name) {
            return level;
        }
    }
    return fail(fmt::format("--log-level '{}' is not one of trace, debug, info, warn, error", text));
}

Result<std::int64_t> parse_count(const std::string& text,
                                 std::string_view option,
                                 std::int64_t min,
                                 std::int64_t max) {
    std::int64_t value = 0;
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc{} || ptr != end) {
        return fail(fmt::format("{} '{}' is not a whole number", option, text));
    }
    if (value < min || value > max) {
        return fail(fmt::format("{} {} is outside {}..{}", option, value, min, max));
    }
    return value;
}

// --hook names a program that can be run now: a mistake shows at start, not
// at the first event.
Status check_hook_program(const std::string& program) {
    if (program.empty()) {
        return fail("--hook must not be empty (the path of the program to run for each event)");
    }
    std::error_code ec;
    const auto status = std::filesystem::status(program, ec);
    if (ec || !std::filesystem::exists(status)) {
        return fail(fmt::format("--hook '{}': no such file", program));
    }
    if (!std::filesystem::is_regular_file(status)) {
        return fail(fmt::format("--hook '{}' is not a file", program));
    }
    if (::access(program.c_str(), X_OK) != 0) {
        return fail(fmt::format("--hook '{}' is not executable by this user", program));
    }
    return success();
}

Status parse_hook(const po::variables_map& vm, Options& o) {
    const bool hook = vm.count("hook") != 0U;
    for (const char* option : {"hook-concurrency", "hook-timeout", "hook-queue"}) {
        if (!hook && vm.count(option) != 0U) {
            return fail(fmt::format("--{} needs --hook (the program to run)", option));
        }
    }
    if (!hook) {
        return success();
    }
    o.hook = vm["hook"].as<std::string>();
    if (auto ok = check_hook_program(o.hook); !ok) {
        return ok;
    }
    if (vm.count("hook-concurrency") != 0U) {
        auto value = parse_count(vm["hook-concurrency"].as<std::string>(), "--hook-concurrency", 1, 64);
        if (!value) {
            return fail(value.error());
        }
        o.hook_concurrency = static_cast<int>(*value);
    }
    if (vm.count("hook-timeout") != 0U) {
        auto value = parse_count(vm["hook-timeout"].as<std::string>(), "--hook-timeout", 1, 3600);
        if (!value) {
            return fail(value.error());
        }
        o.hook_timeout = std::chrono::seconds(*value);
    }
    if (vm.count("hook-queue") != 0U) {
        auto value = parse_count(vm["hook-queue"].as<std::string>(), "--hook-queue", 1, 100'000);
        if (!value) {
            return fail(value.error());
        }
        o.hook_queue = static_cast<std::size_t>(*value);
    }
    return success();
}

std::string usage(const po::options_description& visible) {
    std::ostringstream out;
    out << "Usage: agentlb-mgmt --name NAME --ca-dir DIR [options]\n\n"
        << "The agentlb management server: computes each agent's list of management servers\n"
        << "and keeps it up to date over mutually authenticated TLS.\n\n"
        << visible;
    return out.str();
}

}  // namespace

OptionDefaults environment_defaults() {
    OptionDefaults defaults;
    if (const char* db = std::getenv("AGENTLB_DB"); db != nullptr && *db != '\0') {
        defaults.db_from_env = db;
    }
    std::array<char, 256> host{};
    if (::gethostname(host.data(), host.size() - 1) == 0) {
        defaults.hostname = host.data();
    }
    if (defaults.hostname.empty()) {
        defaults.hostname = "localhost";
    }
    return defaults;
}

Result<boost::asio::ip::tcp::endpoint> parse_bind_address(std::string_view text, std::string_view option) {
    std::string_view address;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return fail(fmt::format("{} '{}' must look like [IPv6]:PORT", option, text));
        }
        address = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon) {
            return fail(fmt::format("{} '{}' must look like IP:PORT (e.g. 0.0.0.0:8250)", option, text));
        }
        address = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(std::string(address), ec);
    if (ec) {
        return fail(fmt::format("{} '{}': '{}' is not an IP address", option, text, address));
    }
    auto number = parse_count(std::string(port), fmt::format("{} port", option), 0, 65535);
    if (!number) {
        return fail(number.error());
    }
    return boost::asio::ip::tcp::endpoint(ip, static_cast<unsigned short>(*number));
}

Result<ParsedOptions> parse_options(int argc, const char* const argv[], const OptionDefaults& defaults) {
    po::options_description visible("Options");
    // clang-format off
    visible.add_options()
        ("help", "show this help and exit")
        ("version", "show the version and exit")
        ("config", po::value<std::string>(), "read options from this file (key = value, names without dashes); "
                                             "command-line options win")
        ("name", po::value<std::string>(), "this server's unique name (required); a restart under the same "
                                           "name takes over its row")
        ("db", po::value<std::string>(), "the store shared by every server and agentlbctl, made by "
                                         "`agentlbctl ca init`: an SQLite file, or PostgreSQL as a "
                                         "postgresql:// URI or a libpq key=value string (default: "
                                         "$AGENTLB_DB, else /var/lib/agentlb/agentlb.db)")
        ("ca-dir", po::value<std::string>(), "folder with the CA's ca.key and ca.crt (required: this server "
                                             "issues its own and its agents' certificates)")
        ("state-dir", po::value<std::string>(), "where this server keeps NAME.key and NAME.crt "
                                                "(default: the folder of an SQLite --db; "
                                                "/var/lib/agentlb for PostgreSQL)")
        ("listen", po::value<std::string>()->default_value("0.0.0.0:8250"), "agent port, IP:PORT")
        ("enroll-listen", po::value<std::string>(), "enrollment port, IP:PORT (default: the --listen address, "
                                                    "port 8251)")
        ("admin-listen", po::value<std::string>()->default_value("127.0.0.1:8252"),
            "admin HTTP (the status page at /, /metrics, /healthz, /v1/status), IP:PORT; plain HTTP, "
            "keep it on loopback")
        ("advertise", po::value<std::string>(), "the address agents dial, NAME-OR-IP[:PORT] as written in the "
                                                "`host` key (default: the --listen address, or this machine's "
                                                "hostname when --listen is a wildcard)")
        ("log-level", po::value<std::string>()->default_value("info"), "trace, debug, info, warn or error")
        ("threads", po::value<std::string>()->default_value("1"),
            "I/O threads (1..64); one thread serves thousands of agents, more help with TLS handshake bursts")
        ("hook", po::value<std::string>(), "run this program (a path; no shell) for each membership event "
                                           "(agent.connected, agent.disconnected, agent.moved, server.up, "
                                           "server.down, server.maintenance): argv PROGRAM EVENT, the event "
                                           "as JSON on stdin (see docs/OPERATIONS.md)")
        ("app-socket", po::value<std::string>(), "listen on this Unix socket for the platform's management "
                                                 "application: its messages to and from the hosts' own agent "
                                                 "software (e.g. /run/agentlb/mgmt-app.sock)")
        ("app-socket-group", po::value<std::string>(), "the group allowed to use --app-socket (mode 0660; "
                                                       "default: the server's own group)")
        ("peer-listen", po::value<std::string>(), "the peer link, IP:PORT (e.g. 0.0.0.0:8260): app messages for "
                                                  "hosts and applications on other servers go over it, mutual "
                                                  "TLS with server certificates only; the others dial the "
                                                  "--advertise host at this port")
        ("hook-concurrency", po::value<std::string>(), "hook processes at most at once, 1..64 (default 4)")
        ("hook-timeout", po::value<std::string>(), "seconds before a hook process is killed, 1..3600 "
                                                   "(default 10)");
    po::options_description hidden("Hidden");
    hidden.add_options()
        ("heartbeat-interval", po::value<std::string>(), "agent ping interval in seconds (tests)")
        ("server-heartbeat-interval", po::value<std::string>(), "server heartbeat interval in seconds (tests)")
        ("handshake-timeout", po::value<std::string>(), "handshake and hello deadline in seconds (tests)")
        ("safety-poll-ms", po::value<std::string>(), "store generation poll while change notification "
                                                     "works, in milliseconds (tests)")
        ("ticket-key-refresh-ms", po::value<std::string>(), "TLS ticket key refresh from the store, in "
                                                            "milliseconds (tests)")
        ("hook-queue", po::value<std::string>(), "hook events waiting at most (tests)")
        ("rebalance-hold", po::value<std::string>(), "the rebalancer's hold time in seconds (tests)")
        ("schedule-offset", po::value<std::string>(), "seconds added to the time agentlb.mode.schedule "
                                                      "reads (tests)")
        ("history-sample-ms", po::value<std::string>(), "the status page's agents-per-server sample period, "
                                                        "in milliseconds (tests)");
    // clang-format on
    po::options_description all;
    all.add(visible).add(hidden);

    po::variables_map vm;
    try {
        // No short options and no guessing: every flag is spelled out.
        const auto style = po::command_line_style::unix_style & ~po::command_line_style::allow_guessing &
                           ~po::command_line_style::allow_short;
        po::store(po::command_line_parser(argc, argv).options(all).style(style).run(), vm);
        if (vm.count("config") != 0U) {
            const auto path = vm["config"].as<std::string>();
            std::error_code fs_ec;
            if (!std::filesystem::is_regular_file(path, fs_ec)) {
                return fail(fmt::format("--config '{}' is not a readable file", path));
            }
            // Values already set on the command line are kept (first store wins).
            po::store(po::parse_config_file(path.c_str(), all, false), vm);
        }
        po::notify(vm);
    } catch (const po::error& e) {
        return fail(e.what());
    }

    ParsedOptions parsed;
    if (vm.count("help") != 0U) {
        parsed.action = ParsedOptions::Action::help;
        parsed.text = usage(visible);
        return parsed;
    }
    if (vm.count("version") != 0U) {
        parsed.action = ParsedOptions::Action::version;
        parsed.text = kVersion;
        return parsed;
    }

    auto get = [&vm](const char* key) -> std::string {
        return vm.count(key) != 0U ? vm[key].as<std::string>() : std::string();
    };
    Options& o = parsed.options;

    o.name = get("name");
    if (auto ok = check_name(o.name); !ok) {
        return fail(ok.error());
    }

    o.db = vm.count("db") != 0U ? get("db") : defaults.db_from_env.value_or(std::string(kDefaultDb));
    if (o.db.empty()) {
        return fail("--db must not be empty");
    }

    o.ca_dir = get("ca-dir");
    if (o.ca_dir.empty()) {
        return fail("--ca-dir is required (the folder with ca.key and ca.crt made by `agentlbctl ca init`)");
    }

    if (vm.count("state-dir") != 0U) {
        o.state_dir = get("state-dir");
        if (o.state_dir.empty()) {
            return fail("--state-dir must not be empty");
        }
    } else if (store::backend_of(o.db) == store::Backend::postgresql) {
        o.state_dir = std::string(kDefaultPostgresqlStateDir);
    } else {
        const auto parent = std::filesystem::path(o.db).parent_path();
        o.state_dir = parent.empty() ? std::string(".") : parent.string();
    }

    auto listen = parse_bind_address(get("listen"), "--listen");
    if (!listen) {
        return fail(listen.error());
    }
    o.listen = *listen;

    if (vm.count("enroll-listen") != 0U) {
        auto enroll = parse_bind_address(get("enroll-listen"), "--enroll-listen");
        if (!enroll) {
            return fail(enroll.error());
        }
        o.enroll_listen = *enroll;
    } else {
        o.enroll_listen = boost::asio::ip::tcp::endpoint(o.listen.address(), 8251);
    }

    auto admin = parse_bind_address(get("admin-listen"), "--admin-listen");
    if (!admin) {
        return fail(admin.error());
    }
    o.admin_listen = *admin;

    // Port 0 (any free port, for tests) never clashes.
    const auto clash = [](const boost::asio::ip::tcp::endpoint& a, const boost::asio::ip::tcp::endpoint& b) {
        return a.port() != 0 && a == b;
    };
    if (clash(o.listen, o.enroll_listen) || clash(o.listen, o.admin_listen) ||
        clash(o.enroll_listen, o.admin_listen)) {
        return fail("--listen, --enroll-listen and --admin-listen must be three different addresses");
    }
    if (vm.count("peer-listen") != 0U) {
        auto peer = parse_bind_address(get("peer-listen"), "--peer-listen");
        if (!peer) {
            return fail(peer.error());
        }
        if (clash(*peer, o.listen) || clash(*peer, o.enroll_listen) || clash(*peer, o.admin_listen)) {
            return fail("--peer-listen must differ from --listen, --enroll-listen and --admin-listen");
        }
        o.peer_listen = *peer;
    }

    if (vm.count("advertise") != 0U) {
        o.advertise = get("advertise");
    } else if (o.listen.address().is_unspecified()) {
        o.advertise = fmt::format("{}:{}", defaults.hostname, o.listen.port());
    } else if (o.listen.address().is_v6()) {
        o.advertise = fmt::format("[{}]:{}", o.listen.address().to_string(), o.listen.port());
    } else {
        o.advertise = fmt::format("{}:{}", o.listen.address().to_string(), o.listen.port());
    }
    if (auto endpoint = lb::parse_endpoint(o.advertise); !endpoint) {
        return fail(fmt::format("--advertise '{}': {}", o.advertise, endpoint.error()));
    }

    auto level = parse_log_level(get("log-level"));
    if (!level) {
        return fail(level.error());
    }
    o.log_level = *level;

    auto threads = parse_count(get("threads"), "--threads", 1, 64);
    if (!threads) {
        return fail(threads.error());
    }
    o.threads = static_cast<int>(*threads);

    if (vm.count("heartbeat-interval") != 0U) {
        auto value = parse_count(get("heartbeat-interval"), "--heartbeat-interval", 1, 3600);
        if (!value) {
            return fail(value.error());
        }
        o.heartbeat_interval = std::chrono::seconds(*value);
    }
    if (vm.count("server-heartbeat-interval") != 0U) {
        auto value = parse_count(get("server-heartbeat-interval"), "--server-heartbeat-interval", 1, 3600);
        if (!value) {
            return fail(value.error());
        }
        o.server_heartbeat_interval = std::chrono::seconds(*value);
    }
    if (vm.count("handshake-timeout") != 0U) {
        auto value = parse_count(get("handshake-timeout"), "--handshake-timeout", 1, 3600);
        if (!value) {
            return fail(value.error());
        }
        o.handshake_timeout = std::chrono::seconds(*value);
    }
    if (auto hook = parse_hook(vm, o); !hook) {
        return fail(hook.error());
    }
    if (vm.count("app-socket") != 0U) {
        o.app_socket = get("app-socket");
        if (o.app_socket.empty()) {
            return fail("--app-socket: the path is empty");
        }
        if (vm.count("app-socket-group") != 0U) {
            o.app_socket_group = get("app-socket-group");
        }
    } else if (vm.count("app-socket-group") != 0U) {
        return fail("--app-socket-group: only with --app-socket");
    }
    if (vm.count("safety-poll-ms") != 0U) {
        auto value = parse_count(get("safety-poll-ms"), "--safety-poll-ms", 10, 3'600'000);
        if (!value) {
            return fail(value.error());
        }
        o.safety_poll = std::chrono::milliseconds(*value);
    }
    if (vm.count("ticket-key-refresh-ms") != 0U) {
        auto value = parse_count(get("ticket-key-refresh-ms"), "--ticket-key-refresh-ms", 10, 3'600'000);
        if (!value) {
            return fail(value.error());
        }
        o.ticket_key_refresh = std::chrono::milliseconds(*value);
    }
    if (vm.count("rebalance-hold") != 0U) {
        auto value = parse_count(get("rebalance-hold"), "--rebalance-hold", 0, 3600);
        if (!value) {
            return fail(value.error());
        }
        o.rebalance_hold = std::chrono::seconds(*value);
    }
    if (vm.count("schedule-offset") != 0U) {
        auto value = parse_count(get("schedule-offset"), "--schedule-offset", 0, 31'536'000);
        if (!value) {
            return fail(value.error());
        }
        o.schedule_offset = std::chrono::seconds(*value);
    }
    if (vm.count("history-sample-ms") != 0U) {
        auto value = parse_count(get("history-sample-ms"), "--history-sample-ms", 10, 3'600'000);
        if (!value) {
            return fail(value.error());
        }
        o.history_sample_period = std::chrono::milliseconds(*value);
    }
    return parsed;
}

}  // namespace agentlb::mgmt
