// agentlb-bench's kill-return scenario (issue 18): its options and the
// HAProxy configuration it writes. No sockets, no processes.

#include "tests/bench/bench_args.hpp"
#include "tools/bench/haproxy_front.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace {

using agentlb::bench::haproxy_config;
using agentlb::bench::HaproxySettings;
using agentlb::test::parse_bench_args;

// The config's lines, trimmed of their indentation.
std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        const auto first = line.find_first_not_of(' ');
        lines.push_back(first == std::string::npos ? std::string() : line.substr(first));
    }
    return lines;
}

bool has_line(const std::vector<std::string>& lines, const std::string& wanted) {
    for (const auto& line : lines) {
        if (line == wanted) {
            return true;
        }
    }
    return false;
}

}  // namespace

TEST_CASE("kill-return options: 3 servers by default, --haproxy and --return-seconds taken") {
    auto parsed =
        parse_bench_args({"--haproxy", "/usr/sbin/haproxy", "--return-seconds", "7", "kill-return"});
    REQUIRE(parsed);
    CHECK(parsed->options.servers == 3);
    CHECK(parsed->options.haproxy == "/usr/sbin/haproxy");
    CHECK(parsed->options.return_seconds == 7);
    CHECK(parsed->options.scenarios == std::vector<std::string>{"kill-return"});
    auto plain = parse_bench_args({"kill-return"});
    REQUIRE(plain);
    CHECK(plain->options.haproxy.empty());
    CHECK(plain->options.return_seconds == 30);
}

TEST_CASE("kill-return options: refused beside another kill, on one server, and --haproxy alone") {
    auto with_failover = parse_bench_args({"failover", "kill-return"});
    REQUIRE_FALSE(with_failover);
    CHECK(with_failover.error() == "kill-return and failover each kill a server: run them separately");
    auto one = parse_bench_args({"--servers", "1", "kill-return"});
    REQUIRE_FALSE(one);
    CHECK(one.error() == "kill-return needs --servers 2 or more (3 by default)");
    auto stray = parse_bench_args({"--haproxy", "/usr/sbin/haproxy", "steady"});
    REQUIRE_FALSE(stray);
    CHECK(stray.error() == "--haproxy BINARY goes with the kill-return scenario only");
    auto zero = parse_bench_args({"--return-seconds", "0", "kill-return"});
    REQUIRE_FALSE(zero);
    CHECK(zero.error().find("--return-seconds 0 is outside 1..3600") != std::string::npos);
}

TEST_CASE("bench options: --algorithm takes roundrobin or hash, never with storm") {
    auto hash = parse_bench_args({"--algorithm", "hash", "kill-return"});
    REQUIRE(hash);
    CHECK(hash->options.algorithm == "hash");
    auto unknown = parse_bench_args({"--algorithm", "static", "kill-return"});
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error() == "--algorithm static: roundrobin or hash, and not with storm");
    auto storm = parse_bench_args({"--algorithm", "hash", "storm"});
    REQUIRE_FALSE(storm);
    CHECK(storm.error() == "--algorithm hash: roundrobin or hash, and not with storm");
}

TEST_CASE("haproxy config: TCP passthrough on loopback, leastconn, a /healthz check per server") {
    HaproxySettings settings;
    settings.listen_port = 21000;
    settings.servers = {{"bench-ms1", 21001, 21002}, {"bench-ms2", 21003, 21004}};
    settings.max_connections = 400;
    const auto lines = lines_of(haproxy_config(settings));
    CHECK(has_line(lines, "mode tcp"));
    CHECK(has_line(lines, "bind 127.0.0.1:21000"));
    CHECK(has_line(lines, "balance leastconn"));
    CHECK(has_line(lines, "option httpchk GET /healthz"));
    CHECK(has_line(lines, "option redispatch 1"));
    CHECK(has_line(lines, "default-server inter 1000ms fall 2 rise 2"));
    CHECK(has_line(lines, "server bench-ms1 127.0.0.1:21001 check port 21002"));
    CHECK(has_line(lines, "server bench-ms2 127.0.0.1:21003 check port 21004"));
    CHECK(has_line(lines, "maxconn 400"));
    CHECK(has_line(lines, "maxconn 500"));  // global: the clients plus room for checks
    // Passthrough: HAProxy never terminates the agents' TLS.
    for (const auto& line : lines) {
        CHECK(line.find("ssl") == std::string::npos);
    }
}
