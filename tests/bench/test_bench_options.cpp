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
    CHECK(parsed->options.messages_inflight == 400);
    CHECK(parsed->options.app_clients == 1);
    // The servers relay messages to each other: hosts may be on any of them.
    auto three = parse_bench_args({"--servers", "3", "messages"});
    REQUIRE(three);
    CHECK(three->options.servers == 3);
    for (const char* other : {"failover", "storm", "kill-return"}) {
        auto beside = parse_bench_args({"messages", other});
        REQUIRE_FALSE(beside);
        CHECK(beside.error() == std::string("run messages apart from ") + other);
    }
    auto small = parse_bench_args({"--messages-payload", "8", "messages"});
    REQUIRE_FALSE(small);
    CHECK(small.error() == "--messages-payload 8 is outside 32..32768");
    auto clients = parse_bench_args({"--agents", "2", "--app-clients", "3", "messages"});
    REQUIRE_FALSE(clients);
    CHECK(clients.error() == "--app-clients 3 is more than the 2 hosts they command");
}
