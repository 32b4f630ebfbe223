#include "mgmt/options.hpp"

#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace agentlb;
using namespace agentlb::mgmt;

namespace {

Result<ParsedOptions> parse(std::vector<std::string> args,
                            OptionDefaults defaults = {std::nullopt, "node7"}) {
    args.insert(args.begin(), "agentlb-mgmt");
    std::vector<const char*> argv;
    for (const auto& a : args) {
        argv.push_back(a.c_str());
    }
    return parse_options(static_cast<int>(argv.size()), argv.data(), defaults);
}

// The least a server needs (--name ms1, --ca-dir /ca), then `extra`.
Result<ParsedOptions> parse_ms1_with(const std::vector<std::string>& extra) {
    std::vector<std::string> args{"--name", "ms1", "--ca-dir", "/ca"};
    args.insert(args.end(), extra.begin(), extra.end());
    return parse(args);
}

}  // namespace

TEST_CASE("defaults follow the design") {
    auto parsed = parse({"--name", "ms1", "--ca-dir", "/ca"});
    REQUIRE(parsed.ok());
    const auto& o = parsed->options;
    CHECK(parsed->action == ParsedOptions::Action::run);
    CHECK(o.name == "ms1");
    CHECK(o.db == "/var/lib/agentlb/agentlb.db");
    CHECK(o.state_dir == "/var/lib/agentlb");
    CHECK(o.listen.port() == 8250);
    CHECK(o.listen.address().to_string() == "0.0.0.0");
    CHECK(o.enroll_listen.port() == 8251);
    CHECK(o.enroll_listen.address().to_string() == "0.0.0.0");
    CHECK(o.admin_listen.address().to_string() == "127.0.0.1");
    CHECK(o.admin_listen.port() == 8252);
    // Wildcard listen: the hostname is advertised.
    CHECK(o.advertise == "node7:8250");
    CHECK(o.log_level == spdlog::level::info);
    CHECK(o.threads == 1);
    CHECK(o.heartbeat_interval == std::chrono::seconds(10));
    CHECK(o.handshake_timeout == std::chrono::seconds(10));
}

TEST_CASE("the db path falls back to AGENTLB_DB and the state dir to its folder") {
    auto parsed = parse({"--name", "ms1", "--ca-dir", "/ca"}, {std::string("/srv/x/lb.db"), "h"});
    REQUIRE(parsed.ok());
    CHECK(parsed->options.db == "/srv/x/lb.db");
    CHECK(parsed->options.state_dir == "/srv/x");

    auto explicit_db =
        parse({"--name", "ms1", "--ca-dir", "/ca", "--db", "/a/b.db"}, {std::string("/srv/x/lb.db"), "h"});
    REQUIRE(explicit_db.ok());
    CHECK(explicit_db->options.db == "/a/b.db");
}

TEST_CASE("a PostgreSQL --db or AGENTLB_DB is kept as given and the state dir is /var/lib/agentlb") {
    const std::string uri = "postgresql://agentlb:secret@db1:5432/agentlb";
    auto parsed = parse({"--name", "ms1", "--ca-dir", "/ca", "--db", uri});
    REQUIRE(parsed.ok());
    CHECK(parsed->options.db == uri);
    // Not the URI's "folder" (postgresql:/agentlb:secret@db1:5432).
    CHECK(parsed->options.state_dir == "/var/lib/agentlb");
    CHECK_FALSE(parsed->options.safety_poll.has_value());

    auto from_env =
        parse({"--name", "ms1", "--ca-dir", "/ca"}, {std::string("host=db1 dbname=agentlb"), "h"});
    REQUIRE(from_env.ok());
    CHECK(from_env->options.db == "host=db1 dbname=agentlb");
    CHECK(from_env->options.state_dir == "/var/lib/agentlb");

    auto state_dir = parse({"--name", "ms1", "--ca-dir", "/ca", "--db", uri, "--state-dir", "/srv/ms1"});
    REQUIRE(state_dir.ok());
    CHECK(state_dir->options.state_dir == "/srv/ms1");
}

TEST_CASE("the safety poll period is a hidden test option with bounds") {
    auto parsed = parse({"--name", "ms1", "--ca-dir", "/ca", "--safety-poll-ms", "20000"});
    REQUIRE(parsed.ok());
    CHECK(parsed->options.safety_poll == std::chrono::milliseconds(20000));
    auto low = parse({"--name", "ms1", "--ca-dir", "/ca", "--safety-poll-ms", "5"});
    REQUIRE_FALSE(low.ok());
    CHECK_THAT(low.error(), Catch::Contains("--safety-poll-ms 5 is outside 10..3600000"));
    auto help = parse({"--help"});
    REQUIRE(help.ok());
    CHECK_THAT(help->text, !Catch::Contains("safety-poll"));
    CHECK_THAT(help->text, Catch::Contains("postgresql://"));
}

TEST_CASE("a specific --listen address is advertised and used for enrollment") {
    auto parsed = parse({"--name", "ms1", "--ca-dir", "/ca", "--listen", "127.0.0.2:9250"});
    REQUIRE(parsed.ok());
    CHECK(parsed->options.advertise == "127.0.0.2:9250");
    CHECK(parsed->options.enroll_listen.address().to_string() == "127.0.0.2");
    CHECK(parsed->options.enroll_listen.port() == 8251);

    auto v6 = parse({"--name", "ms1", "--ca-dir", "/ca", "--listen", "[::1]:9250"});
    REQUIRE(v6.ok());
    CHECK(v6->options.advertise == "[::1]:9250");
}

TEST_CASE("mistakes are refused with a message naming the option") {
    auto no_name = parse({"--ca-dir", "/ca"});
    REQUIRE_FALSE(no_name.ok());
    CHECK_THAT(no_name.error(), Catch::Contains("--name"));

    auto no_ca = parse({"--name", "ms1"});
    REQUIRE_FALSE(no_ca.ok());
    CHECK_THAT(no_ca.error(), Catch::Contains("--ca-dir"));

    auto bad_name = parse({"--name", "ms/1", "--ca-dir", "/ca"});
    REQUIRE_FALSE(bad_name.ok());
    CHECK_THAT(bad_name.error(), Catch::Contains("--name"));

    auto bad_listen = parse({"--name", "ms1", "--ca-dir", "/ca", "--listen", "localhost:80"});
    REQUIRE_FALSE(bad_listen.ok());
    CHECK_THAT(bad_listen.error(), Catch::Contains("--listen"));

    auto no_port = parse({"--name", "ms1", "--ca-dir", "/ca", "--admin-listen", "127.0.0.1"});
    REQUIRE_FALSE(no_port.ok());
    CHECK_THAT(no_port.error(), Catch::Contains("--admin-listen"));

    auto bad_port = parse({"--name", "ms1", "--ca-dir", "/ca", "--listen", "0.0.0.0:70000"});
    REQUIRE_FALSE(bad_port.ok());
    CHECK_THAT(bad_port.error(), Catch::Contains("65535"));

    auto bad_level = parse({"--name", "ms1", "--ca-dir", "/ca", "--log-level", "chatty"});
    REQUIRE_FALSE(bad_level.ok());
    CHECK_THAT(bad_level.error(), Catch::Contains("--log-level"));

    auto bad_threads = parse({"--name", "ms1", "--ca-dir", "/ca", "--threads", "0"});
    REQUIRE_FALSE(bad_threads.ok());
    CHECK_THAT(bad_threads.error(), Catch::Contains("--threads"));

    auto negative = parse({"--name", "ms1", "--ca-dir", "/ca", "--threads", "-5"});
    REQUIRE_FALSE(negative.ok());

    auto same_port = parse({"--name",
                            "ms1",
                            "--ca-dir",
                            "/ca",
                            "--listen",
                            "127.0.0.1:9000",
                            "--admin-listen",
                            "127.0.0.1:9000"});
    REQUIRE_FALSE(same_port.ok());

    auto bad_advertise = parse({"--name", "ms1", "--ca-dir", "/ca", "--advertise", "host:99999"});
    REQUIRE_FALSE(bad_advertise.ok());
    CHECK_THAT(bad_advertise.error(), Catch::Contains("--advertise"));

    auto unknown = parse({"--name", "ms1", "--ca-dir", "/ca", "--frobnicate"});
    REQUIRE_FALSE(unknown.ok());
}

TEST_CASE("help and version need no other option") {
    auto help = parse({"--help"});
    REQUIRE(help.ok());
    CHECK(help->action == ParsedOptions::Action::help);
    CHECK_THAT(help->text, Catch::Contains("--advertise"));
    // Hidden test flags stay out of the help.
    CHECK_THAT(help->text, !Catch::Contains("--handshake-timeout"));

    auto version = parse({"--version"});
    REQUIRE(version.ok());
    CHECK(version->action == ParsedOptions::Action::version);
    CHECK_THAT(version->text, Catch::Contains("agentlb-mgmt"));
}

TEST_CASE("a config file uses the option names without dashes and the command line wins") {
    agentlb::test::TempDir dir;
    const auto path = dir / "mgmt.conf";
    std::ofstream(path) << "name = from-file\nca-dir = /ca\nlisten = 127.0.0.1:7000\nthreads = 3\n";
    auto parsed = parse({"--config", path.string(), "--threads", "2"});
    REQUIRE(parsed.ok());
    CHECK(parsed->options.name == "from-file");
    CHECK(parsed->options.listen.port() == 7000);
    CHECK(parsed->options.threads == 2);

    std::ofstream(dir / "bad.conf") << "name = x\nca-dir = /ca\nnot-an-option = 1\n";
    CHECK_FALSE(parse({"--config", (dir / "bad.conf").string()}).ok());
    CHECK_FALSE(parse({"--config", (dir / "missing.conf").string()}).ok());
}

TEST_CASE("hidden test flags shorten the timers") {
    auto parsed = parse({"--name",
                         "ms1",
                         "--ca-dir",
                         "/ca",
                         "--heartbeat-interval",
                         "1",
                         "--server-heartbeat-interval",
                         "1",
                         "--handshake-timeout",
                         "2"});
    REQUIRE(parsed.ok());
    CHECK(parsed->options.heartbeat_interval == std::chrono::seconds(1));
    CHECK(parsed->options.server_heartbeat_interval == std::chrono::seconds(1));
    CHECK(parsed->options.handshake_timeout == std::chrono::seconds(2));
}

TEST_CASE(
    "a hook program must be an executable file and its concurrency and timeout have bounds and need it") {
    test::TempDir dir;
    const auto script = dir.path() / "hook.sh";
    {
        std::ofstream out(script);
        out << "#!/bin/sh\nexit 0\n";
    }
    const auto plain = dir.path() / "plain.txt";
    {
        std::ofstream out(plain);
        out << "not a program\n";
    }
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    const auto with = parse_ms1_with;

    auto none = with({});
    REQUIRE(none.ok());
    CHECK(none->options.hook.empty());
    CHECK(none->options.hook_concurrency == 4);
    CHECK(none->options.hook_timeout == std::chrono::seconds(10));
    CHECK(none->options.hook_queue == 1000);

    auto set = with({"--hook", script.string(), "--hook-concurrency", "2", "--hook-timeout", "30"});
    REQUIRE(set.ok());
    CHECK(set->options.hook == script.string());
    CHECK(set->options.hook_concurrency == 2);
    CHECK(set->options.hook_timeout == std::chrono::seconds(30));

    auto error_of = [&](std::vector<std::string> extra) {
        auto parsed = with(std::move(extra));
        REQUIRE_FALSE(parsed.ok());
        return parsed.error();
    };
    CHECK(error_of({"--hook", ""}) ==
          "--hook must not be empty (the path of the program to run for each event)");
    CHECK(error_of({"--hook", (dir.path() / "missing").string()}) ==
          "--hook '" + (dir.path() / "missing").string() + "': no such file");
    CHECK(error_of({"--hook", dir.path().string()}) == "--hook '" + dir.path().string() + "' is not a file");
    if (::geteuid() != 0) {  // root may run anything
        CHECK(error_of({"--hook", plain.string()}) ==
              "--hook '" + plain.string() + "' is not executable by this user");
    }
    CHECK(error_of({"--hook", script.string(), "--hook-concurrency", "0"}) ==
          "--hook-concurrency 0 is outside 1..64");
    CHECK(error_of({"--hook", script.string(), "--hook-concurrency", "65"}) ==
          "--hook-concurrency 65 is outside 1..64");
    CHECK(error_of({"--hook", script.string(), "--hook-timeout", "0"}) ==
          "--hook-timeout 0 is outside 1..3600");
    CHECK(error_of({"--hook", script.string(), "--hook-timeout", "ten"}) ==
          "--hook-timeout 'ten' is not a whole number");
    CHECK(error_of({"--hook-concurrency", "2"}) == "--hook-concurrency needs --hook (the program to run)");
    CHECK(error_of({"--hook-timeout", "5"}) == "--hook-timeout needs --hook (the program to run)");
}

TEST_CASE("the rebalancer's hold and the schedule's clock offset are hidden test options with bounds") {
    auto parsed =
        parse({"--name", "ms1", "--ca-dir", "/ca", "--rebalance-hold", "2", "--schedule-offset", "86400"});
    REQUIRE(parsed.ok());
    CHECK(parsed->options.rebalance_hold == std::chrono::seconds(2));
    CHECK(parsed->options.schedule_offset == std::chrono::seconds(86400));
    auto plain = parse({"--name", "ms1", "--ca-dir", "/ca"});
    REQUIRE(plain.ok());
    CHECK_FALSE(plain->options.rebalance_hold);
    CHECK(plain->options.schedule_offset == std::chrono::seconds(0));
    auto bad = parse({"--name", "ms1", "--ca-dir", "/ca", "--rebalance-hold", "-1"});
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error(), Catch::Contains("--rebalance-hold"));
    auto far = parse({"--name", "ms1", "--ca-dir", "/ca", "--schedule-offset", "31536001"});
    REQUIRE_FALSE(far.ok());
    CHECK_THAT(far.error(), Catch::Contains("--schedule-offset"));
    auto help = parse({"--help"});
    REQUIRE(help.ok());
    CHECK_THAT(help->text, !Catch::Contains("rebalance-hold"));
    CHECK_THAT(help->text, !Catch::Contains("schedule-offset"));
}

TEST_CASE("the status page's history sample period is a hidden test option with bounds") {
    auto plain = parse({"--name", "ms1", "--ca-dir", "/ca"});
    REQUIRE(plain.ok());
    CHECK(plain->options.history_sample_period == std::chrono::milliseconds(10000));
    auto fast = parse({"--name", "ms1", "--ca-dir", "/ca", "--history-sample-ms", "200"});
    REQUIRE(fast.ok());
    CHECK(fast->options.history_sample_period == std::chrono::milliseconds(200));
    auto low = parse({"--name", "ms1", "--ca-dir", "/ca", "--history-sample-ms", "5"});
    REQUIRE_FALSE(low.ok());
    CHECK_THAT(low.error(), Catch::Contains("--history-sample-ms 5 is outside 10..3600000"));
    auto help = parse({"--help"});
    REQUIRE(help.ok());
    CHECK_THAT(help->text, !Catch::Contains("history-sample"));
    CHECK_THAT(help->text, Catch::Contains("status page"));
}

TEST_CASE("the management app socket: a path that is not empty, and a group only with it") {
    const auto app_socket_args = parse_ms1_with;
    auto none = app_socket_args({});
    REQUIRE(none.ok());
    CHECK(none->options.app_socket.empty());
    auto set = app_socket_args({"--app-socket", "/run/agentlb/mgmt-app.sock", "--app-socket-group", "cloud"});
    REQUIRE(set.ok());
    CHECK(set->options.app_socket == "/run/agentlb/mgmt-app.sock");
    CHECK(set->options.app_socket_group == "cloud");
    auto empty = app_socket_args({"--app-socket", ""});
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error() == "--app-socket: the path is empty");
    auto alone = app_socket_args({"--app-socket-group", "cloud"});
    REQUIRE_FALSE(alone.ok());
    CHECK(alone.error() == "--app-socket-group: only with --app-socket");
}

TEST_CASE("the peer link: an address of its own, none by default") {
    const auto with = parse_ms1_with;
    auto none = with({});
    REQUIRE(none.ok());
    CHECK_FALSE(none->options.peer_listen);
    auto set = with({"--peer-listen", "0.0.0.0:8260"});
    REQUIRE(set.ok());
    REQUIRE(set->options.peer_listen);
    CHECK(set->options.peer_listen->port() == 8260);
    // Port 0 (any free port, as tests start servers) never clashes.
    auto any_port = with({"--peer-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"});
    REQUIRE(any_port.ok());
    CHECK(any_port->options.peer_listen->port() == 0);
    auto clash = with({"--peer-listen", "0.0.0.0:8250"});
    REQUIRE_FALSE(clash.ok());
    CHECK(clash.error() == "--peer-listen must differ from --listen, --enroll-listen and --admin-listen");
    auto bad = with({"--peer-listen", "ms1:8260"});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error() == "--peer-listen 'ms1:8260': 'ms1' is not an IP address");
}
