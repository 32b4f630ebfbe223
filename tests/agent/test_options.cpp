#include "agent/options.hpp"

#include <catch2/catch.hpp>

#include <initializer_list>

using namespace agentlb;
using namespace agentlb::agent;

namespace {

Result<ParsedCommandLine> parse(std::initializer_list<const char*> args) {
    std::vector<const char*> argv{"agentlb-agent"};
    argv.insert(argv.end(), args.begin(), args.end());
    return parse_options(static_cast<int>(argv.size()), argv.data(), "this-host");
}

AgentOptions options_of(Result<ParsedCommandLine> parsed) {
    REQUIRE(parsed.ok());
    REQUIRE(std::holds_alternative<AgentOptions>(*parsed));
    return std::get<AgentOptions>(*parsed);
}

const std::string kFingerprint = "sha256:" + std::string(64, 'a');

}  // namespace

TEST_CASE("defaults") {
    auto o = options_of(parse({}));
    CHECK(o.config_path == "/etc/agentlb/agent.properties");
    CHECK(o.log_level == "info");
    CHECK(o.name == "this-host");
    CHECK(o.zone.empty());
    CHECK_FALSE(o.enroll.has_value());
    CHECK(o.tuning.heartbeat_interval == std::chrono::seconds(10));
    CHECK(o.tuning.backoff_initial == std::chrono::seconds(1));
    CHECK(o.tuning.backoff_cap == std::chrono::seconds(60));
}

TEST_CASE("enrolment flags are parsed together") {
    auto o = options_of(parse({"--config",
                               "/tmp/a.properties",
                               "--enroll-server",
                               "10.0.0.1:8251",
                               "--enroll-token",
                               "tok",
                               "--ca-fingerprint",
                               kFingerprint.c_str(),
                               "--name",
                               "kvm1",
                               "--zone",
                               "z"}));
    CHECK(o.config_path == "/tmp/a.properties");
    CHECK(o.name == "kvm1");
    CHECK(o.zone == "z");
    REQUIRE(o.enroll.has_value());
    CHECK(o.enroll->endpoint.host == "10.0.0.1");
    CHECK(o.enroll->endpoint.port == 8251);
    CHECK(o.enroll->token == "tok");
    CHECK(o.enroll->ca_fingerprint == kFingerprint);
}

TEST_CASE("the enrollment port defaults to 8251") {
    auto o = options_of(parse(
        {"--enroll-server", "ms.example", "--enroll-token", "t", "--ca-fingerprint", kFingerprint.c_str()}));
    CHECK(o.enroll->endpoint.port == 8251);
    auto v6 = options_of(
        parse({"--enroll-server", "[::1]", "--enroll-token", "t", "--ca-fingerprint", kFingerprint.c_str()}));
    CHECK(v6.enroll->endpoint.port == 8251);
    auto v6port = options_of(parse(
        {"--enroll-server", "[::1]:9001", "--enroll-token", "t", "--ca-fingerprint", kFingerprint.c_str()}));
    CHECK(v6port.enroll->endpoint.port == 9001);
}

TEST_CASE("incomplete or bad enrolment flags are refused") {
    auto partial = parse({"--enroll-token", "t"});
    REQUIRE_FALSE(partial.ok());
    CHECK_THAT(partial.error(), Catch::Contains("--enroll-server"));

    auto bad_fp = parse({"--enroll-server", "a:1", "--enroll-token", "t", "--ca-fingerprint", "md5:abc"});
    REQUIRE_FALSE(bad_fp.ok());
    CHECK_THAT(bad_fp.error(), Catch::Contains("--ca-fingerprint"));

    auto bad_port = parse(
        {"--enroll-server", "a:70000", "--enroll-token", "t", "--ca-fingerprint", kFingerprint.c_str()});
    REQUIRE_FALSE(bad_port.ok());
    CHECK_THAT(bad_port.error(), Catch::Contains("--enroll-server"));
}

TEST_CASE("unknown flags, bad log levels and bad durations are refused") {
    CHECK_FALSE(parse({"--bogus"}).ok());
    CHECK_FALSE(parse({"-c", "x"}).ok());
    CHECK_FALSE(parse({"stray"}).ok());
    CHECK_FALSE(parse({"--conf", "x"}).ok());  // no guessing of abbreviations
    auto level = parse({"--log-level", "loud"});
    REQUIRE_FALSE(level.ok());
    CHECK_THAT(level.error(), Catch::Contains("--log-level"));
    CHECK_FALSE(parse({"--heartbeat-interval-ms", "0"}).ok());
    CHECK_FALSE(parse({"--heartbeat-interval-ms", "ten"}).ok());
    CHECK_FALSE(parse({"--backoff-initial-ms", "500", "--backoff-cap-ms", "100"}).ok());
    CHECK_FALSE(parse({"--name", ""}).ok());
}

TEST_CASE("hidden tuning flags") {
    auto o = options_of(parse({"--heartbeat-interval-ms",
                               "200",
                               "--connect-timeout-ms",
                               "300",
                               "--welcome-timeout-ms",
                               "400",
                               "--backoff-initial-ms",
                               "50",
                               "--backoff-cap-ms",
                               "800",
                               "--renewal-check-interval-ms",
                               "1000"}));
    CHECK(o.tuning.heartbeat_interval == std::chrono::milliseconds(200));
    CHECK(o.tuning.connect_timeout == std::chrono::milliseconds(300));
    CHECK(o.tuning.welcome_timeout == std::chrono::milliseconds(400));
    CHECK(o.tuning.backoff_initial == std::chrono::milliseconds(50));
    CHECK(o.tuning.backoff_cap == std::chrono::milliseconds(800));
    CHECK(o.tuning.renewal_check_interval == std::chrono::milliseconds(1000));
}

TEST_CASE("help and version print text") {
    auto help = parse({"--help"});
    REQUIRE(help.ok());
    REQUIRE(std::holds_alternative<PrintAndExit>(*help));
    const auto& text = std::get<PrintAndExit>(*help).text;
    CHECK_THAT(text, Catch::Contains("--enroll-token") && Catch::Contains("--config"));
    CHECK_THAT(text, !Catch::Contains("heartbeat-interval-ms"));

    auto version = parse({"--version"});
    REQUIRE(version.ok());
    CHECK_THAT(std::get<PrintAndExit>(*version).text, Catch::StartsWith("agentlb-agent "));
}

TEST_CASE("enrolling checks the host name before anything is sent") {
    auto injected = parse({"--name",
                           "a/CN=kvm1,O=*",
                           "--enroll-server",
                           "a:1",
                           "--enroll-token",
                           "t",
                           "--ca-fingerprint",
                           kFingerprint.c_str()});
    REQUIRE_FALSE(injected.ok());
    CHECK_THAT(injected.error(), Catch::Contains("--name") && Catch::Contains("'/' at position 2"));

    // The machine's own name is checked too, and the message says how to override it.
    std::vector<const char*> argv{"agentlb-agent",
                                  "--enroll-server",
                                  "a:1",
                                  "--enroll-token",
                                  "t",
                                  "--ca-fingerprint",
                                  kFingerprint.c_str()};
    auto machine = parse_options(static_cast<int>(argv.size()), argv.data(), "build_box");
    REQUIRE_FALSE(machine.ok());
    CHECK_THAT(machine.error(), Catch::Contains("'_' at position 6") && Catch::Contains("--name"));

    // Without enrolment the name is not used, so an already enrolled agent still starts.
    CHECK(parse_options(1, argv.data(), "build_box").ok());
}

TEST_CASE("the agent's --zone follows the zone rule: at most 256 bytes, no space or control character") {
    const std::string longest(256, 'z');
    CHECK(options_of(parse({"--zone", longest.c_str()})).zone == longest);
    CHECK(options_of(parse({"--zone", ""})).zone.empty());  // not given

    const std::string too_long(300, 'z');
    auto refused = parse({"--zone", too_long.c_str()});
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error(), Catch::StartsWith("--zone: zone \"") && Catch::Contains("at most 256"));
    CHECK(refused.error().size() < 400);

    auto blank = parse({"--zone", "east 1"});
    REQUIRE_FALSE(blank.ok());
    CHECK_THAT(blank.error(), Catch::Contains("--zone") && Catch::Contains("space or a control character"));
}

TEST_CASE("the metrics file option is optional and its path must not be empty") {
    CHECK_FALSE(options_of(parse({})).metrics_file.has_value());
    auto o = options_of(parse({"--metrics-file", "/var/lib/node_exporter/agentlb.prom"}));
    REQUIRE(o.metrics_file.has_value());
    CHECK(*o.metrics_file == "/var/lib/node_exporter/agentlb.prom");
    auto empty = parse({"--metrics-file", ""});
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error() == "--metrics-file: the path is empty");
}

TEST_CASE("the app socket options: a path that is not empty, and a group only with it") {
    const auto o = options_of(parse({}));
    CHECK_FALSE(o.app_socket.has_value());
    CHECK(o.app_socket_group.empty());
    const auto set = options_of(parse({"--app-socket", "/run/agentlb/app.sock", "--app-socket-group", "cloud"}));
    REQUIRE(set.app_socket.has_value());
    CHECK(*set.app_socket == "/run/agentlb/app.sock");
    CHECK(set.app_socket_group == "cloud");
    auto empty = parse({"--app-socket", ""});
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error() == "--app-socket: the path is empty");
    auto alone = parse({"--app-socket-group", "cloud"});
    REQUIRE_FALSE(alone.ok());
    CHECK(alone.error() == "--app-socket-group: only with --app-socket");
}
