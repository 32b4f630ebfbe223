#include "mgmt/hello_decision.hpp"

#include <catch2/catch.hpp>

using namespace agentlb;
using namespace agentlb::mgmt;

namespace {

wire::Hello hello_from(std::string name, std::string list, std::int64_t interval = 0) {
    return wire::Hello{std::move(name), "zone-a", std::move(list), interval, "0.1.0"};
}

HelloLookup registered(std::int64_t id, std::vector<std::string> hosts, std::string algorithm) {
    auto snapshot = make_snapshot(
        3, lb::LbSettings{std::move(hosts), std::move(algorithm), 0}, {{"zone-a", {1, 2, id}}}, {});
    REQUIRE(snapshot.ok());
    HelloLookup lookup;
    lookup.host = store::HostRecord{id, "agent-1", "zone-a", std::nullopt, 0, 0};
    lookup.snapshot = std::make_shared<const ClusterSnapshot>(std::move(*snapshot));
    return lookup;
}

HelloServer server(int& seq) {
    return HelloServer{"ms1", 10, [&seq] { return ++seq; }};
}

}  // namespace

TEST_CASE("hello: a name other than the certificate's is refused, both names escaped in the log") {
    CHECK_FALSE(check_hello_identity(hello_from("agent-1", ""), "agent-1"));
    const auto refusal = check_hello_identity(hello_from("evil\nname", ""), "agent-1");
    REQUIRE(refusal);
    CHECK(refusal->code == "identity_mismatch");
    CHECK(refusal->log == "certificate is for 'agent-1', hello names 'evil\\x0aname'");
}

TEST_CASE("hello: a refused certificate is revoked or bad") {
    CHECK(leaf_check_refusal("certificate serial 01 is revoked").code == "revoked");
    CHECK(leaf_check_refusal("certificate has expired").code == "bad_certificate");
}

TEST_CASE("hello: unknown and revoked hosts are refused without using a seq") {
    int seq = 0;
    auto lookup = registered(5, {"a", "b"}, "static");
    lookup.host.reset();
    auto decision = decide_hello(hello_from("agent-1", ""), "0a", lookup, server(seq));
    REQUIRE(std::holds_alternative<HelloRefusal>(decision));
    CHECK(std::get<HelloRefusal>(decision).code == "unknown_host");
    CHECK(std::get<HelloRefusal>(decision).message == "host agent-1 is not registered");

    lookup = registered(5, {"a", "b"}, "static");
    lookup.revoked = true;
    decision = decide_hello(hello_from("agent-1", ""), "0a", lookup, server(seq));
    REQUIRE(std::holds_alternative<HelloRefusal>(decision));
    CHECK(std::get<HelloRefusal>(decision).code == "revoked");
    CHECK(std::get<HelloRefusal>(decision).message == "certificate serial 0a is revoked");
    CHECK(seq == 0);
}

TEST_CASE("hello: welcome corrects a wrong list and keeps a right one") {
    int seq = 0;
    const auto lookup = registered(5, {"a", "b"}, "static");
    auto decision = decide_hello(hello_from("agent-1", "b@static"), "0a", lookup, server(seq));
    REQUIRE(std::holds_alternative<HelloAcceptance>(decision));
    const auto& corrected = std::get<HelloAcceptance>(decision);
    CHECK(corrected.welcome.host_id == 5);
    CHECK(corrected.welcome.server == "ms1");
    CHECK(corrected.welcome.heartbeat_interval == 10);
    REQUIRE(corrected.welcome.correction);
    CHECK(corrected.welcome.correction->seq == 1);
    CHECK(corrected.welcome.correction->list == std::vector<std::string>{"a", "b"});
    CHECK(corrected.held.list == std::vector<std::string>{"a", "b"});

    decision = decide_hello(hello_from("agent-1", "a,b@static"), "0a", lookup, server(seq));
    REQUIRE(std::holds_alternative<HelloAcceptance>(decision));
    CHECK_FALSE(std::get<HelloAcceptance>(decision).welcome.correction);
    CHECK(std::get<HelloAcceptance>(decision).held.list == std::vector<std::string>{"a", "b"});
    CHECK(seq == 1);
}
