// agentlb-bench's command line: the storm scenario's rules.

#include "tests/bench/bench_args.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using agentlb::test::parse_bench_args;

TEST_CASE("bench options: storm runs on 2 servers with the static algorithm and a resumption sample") {
    auto parsed = parse_bench_args({"--resume-sample", "0", "storm"});
    REQUIRE(parsed);
    CHECK(parsed->options.servers == 2);
    CHECK(parsed->options.algorithm == "static");
    CHECK(parsed->options.resume_sample == 1000);  // min(N, 2000), N = 1000
    CHECK(parsed->options.scenarios == std::vector<std::string>{"storm"});
}

TEST_CASE("bench options: other scenarios keep roundrobin") {
    auto parsed = parse_bench_args({"connect", "failover"});
    REQUIRE(parsed);
    CHECK(parsed->options.servers == 3);
    CHECK(parsed->options.algorithm == "roundrobin");
}

TEST_CASE("bench options: storm refuses another server count and failover beside it") {
    auto three = parse_bench_args({"--servers", "3", "storm"});
    REQUIRE_FALSE(three);
    CHECK(three.error().find("storm runs on exactly 2 servers") != std::string::npos);
    auto both = parse_bench_args({"failover", "storm"});
    REQUIRE_FALSE(both);
    CHECK(both.error().find("failover and storm") != std::string::npos);
}

TEST_CASE("bench options: --set takes KEY=VALUE pairs and refuses anything else") {
    auto parsed =
        parse_bench_args({"--set", "agentlb.handshake.max.inflight=1000", "--set", "a=", "connect"});
    REQUIRE(parsed);
    REQUIRE(parsed->options.settings.size() == 2);
    CHECK(parsed->options.settings[0] ==
          std::pair<std::string, std::string>{"agentlb.handshake.max.inflight", "1000"});
    CHECK(parsed->options.settings[1] == std::pair<std::string, std::string>{"a", ""});
    auto bad = parse_bench_args({"--set", "novalue", "connect"});
    REQUIRE_FALSE(bad);
    CHECK(bad.error() == "--set 'novalue': expected KEY=VALUE");
}

TEST_CASE("bench options: messages runs on one server by default, on more when asked, alone") {
    auto parsed = parse_bench_args({"messages"});
    REQUIRE(parsed);
    CHECK(parsed->options.servers == 1);
    CHECK(parsed->options.scenarios == std::vector<std::string>{"messages"});
    CHECK(parsed->options.messages_seconds == 10);
    CHECK(parsed->options.messages_window == 8);
    CHECK(parsed->options.messages_inflight == 2000);
    CHECK(parsed->options.app_clients == 1);
    // The servers relay messages to each other: hosts may be on any of them.
    auto three = parse_bench_args({"--servers", "3", "messages"});
    REQUIRE(three);
    CHECK(three->options.servers == 3);
    for (const char* other : {"failover", "storm", "kill-return"}) {
        auto beside = parse_bench_args({"messages", other});
        REQUIRE_FALSE(beside);
        CHECK(beside.error() == std::string("run messages apart from ") + other + ": each kills servers");
    }
    auto small = parse_bench_args({"--messages-payload", "8", "messages"});
    REQUIRE_FALSE(small);
    CHECK(small.error() == "--messages-payload 8 is outside 32..32768");
    auto clients = parse_bench_args({"--agents", "2", "--app-clients", "3", "messages"});
    REQUIRE_FALSE(clients);
    CHECK(clients.error() == "--app-clients 3 is more than the 2 hosts they command");
}

TEST_CASE(
    "bench options: messages kills one server on several by default, none on one, and more when asked") {
    auto one = parse_bench_args({"messages"});
    REQUIRE(one);
    CHECK(one->options.messages_kills == 0);
    CHECK(one->options.messages_kill_interval == 2);
    auto three = parse_bench_args({"--servers", "3", "messages"});
    REQUIRE(three);
    CHECK(three->options.messages_kills == 1);
    auto soak = parse_bench_args(
        {"--servers", "3", "--messages-kills", "100", "--messages-kill-interval", "5", "messages"});
    REQUIRE(soak);
    CHECK(soak->options.messages_kills == 100);
    CHECK(soak->options.messages_kill_interval == 5);
    auto none = parse_bench_args({"--servers", "2", "--messages-kills", "0", "messages"});
    REQUIRE(none);
    CHECK(none->options.messages_kills == 0);
}

TEST_CASE("bench options: --messages-kills and --messages-kill-interval refuse what cannot run") {
    // ms1 holds the application and is never killed.
    auto alone = parse_bench_args({"--messages-kills", "1", "messages"});
    REQUIRE_FALSE(alone);
    CHECK(alone.error() ==
          "--messages-kills 1 needs --servers 2 or more: ms1 holds the application and is never killed");
    CHECK(parse_bench_args({"--messages-kills", "0", "messages"}));
    auto other = parse_bench_args({"--servers", "3", "--messages-kills", "2", "connect"});
    REQUIRE_FALSE(other);
    CHECK(other.error() == "--messages-kills goes with the messages scenario only");
    auto negative = parse_bench_args({"--servers", "3", "--messages-kills", "-1", "messages"});
    REQUIRE_FALSE(negative);
    CHECK(negative.error() == "--messages-kills -1 is outside 0..100000");
    auto interval = parse_bench_args({"--servers", "3", "--messages-kill-interval", "0", "messages"});
    REQUIRE_FALSE(interval);
    CHECK(interval.error() == "--messages-kill-interval 0 is outside 1..3600");
}
