#include "tools/bench/options.hpp"

#include "client/agentlb_client.hpp"
#include "tools/bench/message_check.hpp"

#include <boost/program_options.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <sstream>

namespace agentlb::bench {

namespace po = boost::program_options;

namespace {

constexpr const char* kUsage =
    "agentlb-bench: load generator and benchmark for agentlb-mgmt (loopback only)\n"
    "\n"
    "usage: agentlb-bench [options] SCENARIO...\n"
    "\n"
    "Scenarios (they run in this order, whatever order they are named in):\n"
    "  ceiling    OpenSSL primitive speeds -> full handshakes/s the crypto alone allows\n"
    "  floor      OpenSSL's own memory per idle server-side mTLS session (in-process)\n"
    "  connect    open N sessions at a bounded rate; handshakes/s, failures, server RSS per session\n"
    "             (also measures ceiling and floor in the same run)\n"
    "  propagate  change a config key through the store; time until agents acked (first/p50/p99/max)\n"
    "  steady     N idle agents heartbeating; server CPU % and ping round trip\n"
    "  messages   the platform's own messages: an application (client::Client on ms1's\n"
    "             --app-socket) sends commands to N hosts, each answers every command; command ->\n"
    "             answer round trip at --messages-rate, then messages/s each way at saturation\n"
    "             (--messages-window per host); with --servers 2 or more the hosts are spread over\n"
    "             all of them (the servers relay over --peer-listen), then a server holding hosts\n"
    "             (never ms1) is SIGKILLed and restarted --messages-kills times while commands\n"
    "             stream; exits non-zero if any is lost, duplicated or reordered\n"
    "  failover   SIGKILL one of the servers; time until its agents are connected elsewhere, and\n"
    "             the share of them that resumed their TLS session\n"
    "  storm      every agent on server A of 2 with the list [A, B]; SIGKILL A: time until all are\n"
    "             on B against what B's measured handshake rates need, timeouts, push-backs,\n"
    "             resumed share (not with failover)\n"
    "  kill-return  ping round trip in steady state; SIGKILL the server holding the most agents:\n"
    "             time until all are connected again and the spread; restart it: the spread\n"
    "             after --return-seconds (with --haproxy, through HAProxy instead of agentlb's\n"
    "             lists; not with failover or storm)\n"
    "propagate, steady, messages, failover, storm and kill-return connect the agents first.\n"
    "\n"
    "Each scenario prints one JSON line on stdout and a table on stderr. The run\n"
    "starts its own agentlb-mgmt processes on 127.0.0.1 and stops them at the end;\n"
    "it stops by itself at --timeout. The servers share an SQLite store in the work\n"
    "folder, or the PostgreSQL database --db names (a database of its own: the run\n"
    "adds hosts, certificates and tokens to it and reuses them next time).\n";

template <class T>
Result<T> positive(const po::variables_map& vm, const char* name, T min, T max) {
    const auto value = vm[name].as<T>();
    if (value < min || value > max) {
        return fail(fmt::format("--{} {} is outside {}..{}", name, value, min, max));
    }
    return value;
}

}  // namespace

Result<ParsedBench> parse_bench_options(int argc, const char* const argv[]) {
    po::options_description visible("Options");
    // clang-format off
    visible.add_options()
        ("help", "show this help and exit")
        ("agents", po::value<std::size_t>()->default_value(1000), "simulated agents (N)")
        ("servers", po::value<int>(), "management servers to start (default 1; 3 with failover; storm "
                                      "needs 2)")
        ("work-dir", po::value<std::string>()->default_value("/dev/shm/agentlb-bench"),
            "folder for the CA, the store, the identity cache, server state and logs; reused across runs")
        ("ca-dir", po::value<std::string>(), "CA folder (ca.key, ca.crt) to mint agents from "
                                             "(default WORK/ca, created when missing)")
        ("db", po::value<std::string>(), "the store the servers share (default WORK/agentlb.db); a "
                                         "postgresql:// URI or libpq key=value string runs them on PostgreSQL")
        ("mgmt-bin", po::value<std::string>(), "agentlb-mgmt binary (default: the one beside agentlb-bench)")
        ("mgmt-threads", po::value<int>()->default_value(2), "--threads of each agentlb-mgmt")
        ("mgmt-arg", po::value<std::vector<std::string>>(), "extra argument for agentlb-mgmt (repeatable), "
                                                            "e.g. --mgmt-arg=--heartbeat-interval=5")
        ("set", po::value<std::vector<std::string>>(), "KEY=VALUE: a global configuration key stored before "
                                                       "the servers start (repeatable), e.g. "
                                                       "--set agentlb.handshake.max.inflight=1000")
        ("rate", po::value<double>()->default_value(2000), "new sessions per second, 0 = no limit")
        ("inflight", po::value<int>()->default_value(100),
            "sessions setting up at once (below a server's admission limit, 2,048 with 2 threads, so that "
            "connect measures handshakes, not push-backs)")
        ("resume-sample", po::value<std::size_t>()->default_value(2000),
            "sessions closed and reopened with the ticket each was sent, to measure resumption (at "
            "most N; 0 = skip, except that storm needs one and then takes min(N, 2000))")
        ("agents-per-worker", po::value<std::size_t>()->default_value(15000),
            "agents per worker process (each is bound by the descriptor limit)")
        ("steady-seconds", po::value<int>()->default_value(30), "length of the steady scenario")
        ("floor-sessions", po::value<int>()->default_value(0), "sessions of the floor measure (default min(N, 2000))")
        ("ceiling-ms", po::value<int>()->default_value(500), "time spent measuring each primitive")
        ("connect-timeout", po::value<int>()->default_value(0),
            "seconds for connecting every agent (default 60 + N/100, at least twice what --rate needs)")
        ("propagate-timeout", po::value<int>()->default_value(30), "seconds to wait for every ack")
        ("failover-timeout", po::value<int>()->default_value(60),
            "seconds to wait for every reconnection (failover and storm)")
        ("algorithm", po::value<std::string>(), "the servers' indirect.agent.lb.algorithm: roundrobin (default) "
                                                "or hash (storm always runs static)")
        ("haproxy", po::value<std::string>(), "kill-return: put this HAProxy binary in front of the servers "
                                              "(TCP passthrough, leastconn, health checks) and give the agents "
                                              "its one address as their only server")
        ("return-seconds", po::value<int>()->default_value(30),
            "kill-return: seconds the killed server is back before the spread is read")
        ("messages-seconds", po::value<int>()->default_value(10),
            "messages: length of each phase (round trip, then saturation after 1 s of warm-up)")
        ("messages-rate", po::value<double>()->default_value(1000),
            "messages: commands per second, all hosts together, in the round-trip phase and through "
            "the server kills")
        ("messages-window", po::value<std::size_t>()->default_value(8),
            "messages: commands in flight per host at saturation (a server drops app frames for a "
            "session with 32 queued: above 16, resends)")
        ("messages-inflight", po::value<std::size_t>()->default_value(2000),
            "messages: commands in flight over all hosts at saturation, per application connection "
            "(what waits for a slow application queues in the server, up to 8 MiB per connection: "
            "beyond, frames are dropped and sent again)")
        ("messages-payload", po::value<std::size_t>()->default_value(256),
            "messages: bytes of each command and answer")
        ("app-clients", po::value<int>()->default_value(1),
            "messages: the application's connections to the app socket, one thread each; "
            "host i is commanded by connection i % N")
        ("messages-kills", po::value<int>(),
            "messages: times a server holding hosts (ms2, ms3, ... in turn; never ms1, the "
            "application's) is SIGKILLed mid-stream, its hosts fail over, and it is restarted; "
            "default 1 with --servers 2 or more, 0 (none) with one; a soak: 100")
        ("messages-kill-interval", po::value<int>()->default_value(2),
            "messages: seconds the command stream runs before each kill and after the last restart")
        ("timeout", po::value<int>()->default_value(900), "hard limit for the whole run, seconds");
    po::options_description hidden("Hidden");
    hidden.add_options()
        ("worker", "run as a worker process (control channel on descriptor 3)")
        ("scenario", po::value<std::vector<std::string>>(), "scenario");
    // clang-format on
    po::options_description all;
    all.add(visible).add(hidden);
    po::positional_options_description positional;
    positional.add("scenario", -1);

    po::variables_map vm;
    try {
        const auto style = po::command_line_style::unix_style & ~po::command_line_style::allow_guessing &
                           ~po::command_line_style::allow_short;
        po::store(po::command_line_parser(argc, argv).options(all).positional(positional).style(style).run(),
                  vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return fail(e.what());
    }
    ParsedBench parsed;
    if (vm.count("help") != 0U) {
        std::ostringstream text;
        text << kUsage << '\n' << visible;
        parsed.action = ParsedBench::Action::help;
        parsed.text = text.str();
        return parsed;
    }
    if (vm.count("worker") != 0U) {
        parsed.action = ParsedBench::Action::worker;
        return parsed;
    }
    BenchOptions& o = parsed.options;
    if (vm.count("scenario") == 0U) {
        return fail("name at least one scenario: " + fmt::format("{}", fmt::join(scenario_names(), ", ")));
    }
    const auto named = vm["scenario"].as<std::vector<std::string>>();
    for (const auto& name : named) {
        if (std::find(scenario_names().begin(), scenario_names().end(), name) == scenario_names().end()) {
            return fail(
                fmt::format("unknown scenario '{}' (one of: {})", name, fmt::join(scenario_names(), ", ")));
        }
    }
    for (const auto& name : scenario_names()) {
        if (std::find(named.begin(), named.end(), name) != named.end()) {
            o.scenarios.push_back(name);
        }
    }
    const bool failover = std::find(named.begin(), named.end(), "failover") != named.end();
    const bool storm = std::find(named.begin(), named.end(), "storm") != named.end();
    const bool kill_return = std::find(named.begin(), named.end(), "kill-return") != named.end();
    const bool messages = std::find(named.begin(), named.end(), "messages") != named.end();
    if (failover && storm) {
        return fail("failover and storm each kill a server: run them separately");
    }
    if (kill_return && (failover || storm)) {
        return fail(fmt::format("kill-return and {} each kill a server: run them separately",
                                failover ? "failover" : "storm"));
    }
    if (vm.count("haproxy") != 0U) {
        o.haproxy = vm["haproxy"].as<std::string>();
        if (!kill_return || o.haproxy.empty()) {
            return fail("--haproxy BINARY goes with the kill-return scenario only");
        }
    }

    auto agents = positive<std::size_t>(vm, "agents", 1, 1000000);
    if (!agents) {
        return fail(agents.error());
    }
    o.agents = *agents;
    o.servers = vm.count("servers") != 0U ? vm["servers"].as<int>()
                                          : (failover || kill_return ? 3
                                             : storm                 ? 2
                                                                     : 1);
    if (o.servers < 1 || o.servers > 32) {
        return fail(fmt::format("--servers {} is outside 1..32", o.servers));
    }
    if (storm && o.servers != 2) {
        return fail(fmt::format("storm runs on exactly 2 servers (A and the survivor B), not --servers {}",
                                o.servers));
    }
    if (messages && (failover || storm || kill_return)) {
        // Each kills servers its own way, and measures what it sees of it.
        return fail(fmt::format("run messages apart from {}: each kills servers",
                                failover ? "failover" : (storm ? "storm" : "kill-return")));
    }
    if (vm.count("messages-kills") != 0U) {
        o.messages_kills = vm["messages-kills"].as<int>();
        if (!messages) {
            return fail("--messages-kills goes with the messages scenario only");
        }
        if (o.messages_kills < 0 || o.messages_kills > 100000) {
            return fail(fmt::format("--messages-kills {} is outside 0..100000", o.messages_kills));
        }
        if (o.messages_kills > 0 && o.servers < 2) {
            return fail(fmt::format(
                "--messages-kills {} needs --servers 2 or more: ms1 holds the application and is never "
                "killed",
                o.messages_kills));
        }
    } else if (messages && o.servers >= 2) {
        o.messages_kills = 1;
    }
    if (storm) {
        o.algorithm = "static";
    }
    if (vm.count("algorithm") != 0U) {
        o.algorithm = vm["algorithm"].as<std::string>();
        if (storm || (o.algorithm != "roundrobin" && o.algorithm != "hash")) {
            return fail("--algorithm " + o.algorithm + ": roundrobin or hash, and not with storm");
        }
    }
    if ((failover || kill_return) && o.servers < 2) {
        return fail(fmt::format("{} needs --servers 2 or more (3 by default)",
                                failover ? "failover" : "kill-return"));
    }
    o.work_dir = vm["work-dir"].as<std::string>();
    if (o.work_dir.empty()) {
        return fail("--work-dir must not be empty");
    }
    if (vm.count("ca-dir") != 0U) {
        o.ca_dir = vm["ca-dir"].as<std::string>();
    }
    if (vm.count("db") != 0U) {
        o.db = vm["db"].as<std::string>();
        if (o.db.empty()) {
            return fail("--db must not be empty (leave it out for WORK/agentlb.db)");
        }
    }
    if (vm.count("mgmt-bin") != 0U) {
        o.mgmt_bin = vm["mgmt-bin"].as<std::string>();
    }
    if (vm.count("mgmt-arg") != 0U) {
        o.mgmt_args = vm["mgmt-arg"].as<std::vector<std::string>>();
    }
    if (vm.count("set") != 0U) {
        for (const auto& entry : vm["set"].as<std::vector<std::string>>()) {
            const auto eq = entry.find('=');
            if (eq == std::string::npos || eq == 0) {
                return fail("--set '" + entry + "': expected KEY=VALUE");
            }
            o.settings.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
        }
    }
    auto threads = positive<int>(vm, "mgmt-threads", 1, 64);
    auto inflight = positive<int>(vm, "inflight", 1, 100000);
    auto per_worker = positive<std::size_t>(vm, "agents-per-worker", 1, 1000000);
    auto steady = positive<int>(vm, "steady-seconds", 1, 3600);
    auto floor = positive<int>(vm, "floor-sessions", 0, 100000);
    auto ceiling = positive<int>(vm, "ceiling-ms", 10, 60000);
    auto timeout = positive<int>(vm, "timeout", 10, 86400);
    auto propagate = positive<int>(vm, "propagate-timeout", 1, 3600);
    auto connect_timeout = positive<int>(vm, "connect-timeout", 0, 86400);
    auto failover_timeout = positive<int>(vm, "failover-timeout", 1, 3600);
    auto return_seconds = positive<int>(vm, "return-seconds", 1, 3600);
    auto messages_seconds = positive<int>(vm, "messages-seconds", 1, 3600);
    // A host's stream holds at most the Client's 1,024 unacknowledged messages.
    auto window = positive<std::size_t>(vm, "messages-window", 1, 1024);
    auto messages_inflight = positive<std::size_t>(vm, "messages-inflight", 1, 10000000);
    auto payload = positive<std::size_t>(vm, "messages-payload", kMinMessagePayload, client::kMaxPayload);
    auto app_clients = positive<int>(vm, "app-clients", 1, 64);
    auto kill_interval = positive<int>(vm, "messages-kill-interval", 1, 3600);
    for (const Status& s : {Status(threads ? success() : fail(threads.error())),
                            Status(inflight ? success() : fail(inflight.error())),
                            Status(per_worker ? success() : fail(per_worker.error())),
                            Status(steady ? success() : fail(steady.error())),
                            Status(floor ? success() : fail(floor.error())),
                            Status(ceiling ? success() : fail(ceiling.error())),
                            Status(timeout ? success() : fail(timeout.error())),
                            Status(propagate ? success() : fail(propagate.error())),
                            Status(connect_timeout ? success() : fail(connect_timeout.error())),
                            Status(failover_timeout ? success() : fail(failover_timeout.error())),
                            Status(return_seconds ? success() : fail(return_seconds.error())),
                            Status(messages_seconds ? success() : fail(messages_seconds.error())),
                            Status(window ? success() : fail(window.error())),
                            Status(messages_inflight ? success() : fail(messages_inflight.error())),
                            Status(payload ? success() : fail(payload.error())),
                            Status(app_clients ? success() : fail(app_clients.error())),
                            Status(kill_interval ? success() : fail(kill_interval.error()))}) {
        if (!s) {
            return fail(s.error());
        }
    }
    o.mgmt_threads = *threads;
    o.inflight = *inflight;
    o.agents_per_worker = *per_worker;
    o.steady_seconds = *steady;
    o.floor_sessions = *floor;
    o.ceiling_ms = *ceiling;
    o.timeout_seconds = *timeout;
    o.propagate_timeout_seconds = *propagate;
    o.connect_timeout_seconds = *connect_timeout;
    o.failover_timeout_seconds = *failover_timeout;
    o.return_seconds = *return_seconds;
    o.messages_seconds = *messages_seconds;
    o.messages_window = *window;
    o.messages_inflight = *messages_inflight;
    o.messages_payload = *payload;
    o.app_clients = *app_clients;
    o.messages_kill_interval = *kill_interval;
    o.messages_rate = vm["messages-rate"].as<double>();
    if (!(o.messages_rate > 0) || o.messages_rate > 1e7) {
        return fail(fmt::format("--messages-rate {} is outside (0, 10000000]", o.messages_rate));
    }
    if (static_cast<std::size_t>(o.app_clients) > o.agents) {
        return fail(
            fmt::format("--app-clients {} is more than the {} hosts they command", o.app_clients, o.agents));
    }
    o.rate = vm["rate"].as<double>();
    if (o.rate < 0) {
        return fail("--rate must not be negative (0 = no limit)");
    }
    o.resume_sample = std::min(vm["resume-sample"].as<std::size_t>(), o.agents);
    if (storm && o.resume_sample == 0) {
        // Its expected time needs the resumed rate of the same run.
        o.resume_sample = std::min<std::size_t>(o.agents, 2000);
    }
    if (o.floor_sessions == 0) {
        o.floor_sessions = static_cast<int>(std::min<std::size_t>(o.agents, 2000));
    }
    return parsed;
}

}  // namespace agentlb::bench
