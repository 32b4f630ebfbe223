// The --hook events' JSON shape, the bounded queue and the rate-limited drop log.

#include "mgmt/hook_event.hpp"

#include "mgmt/metrics.hpp"
#include "tests/support/net_probe.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <regex>

using namespace agentlb::mgmt;
using agentlb::test::metric_value;

TEST_CASE("an agent event's JSON names the event, the time, the server and the host") {
    auto event = agent_hook_event(kHookAgentConnected, "ms1", HookHost{"h1", 42, "zone-a"});
    event.time = 1'764'921'600;  // 2025-12-05T08:00:00Z
    const auto text = hook_event_json(event);
    CHECK(text == R"({"event":"agent.connected","time":"2025-12-05T08:00:00Z","server":"ms1",)"
                  R"("host":{"name":"h1","id":42,"zone":"zone-a"}})");
    CHECK(text.find('\n') == std::string::npos);
}

TEST_CASE("the event time is now, in RFC 3339 UTC") {
    const auto json =
        nlohmann::json::parse(hook_event_json(agent_hook_event(kHookAgentConnected, "ms1", {})));
    const auto time = json["time"].get<std::string>();
    CHECK(std::regex_match(time, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
    CHECK(time.substr(0, 2) == "20");
}

TEST_CASE("disconnected and moved carry a reason and a detail and moved names where it went when known") {
    auto gone =
        agent_hook_event(kHookAgentDisconnected, "ms1", HookHost{"h1", 1, "z"}, "silence", "no frame");
    auto json = nlohmann::json::parse(hook_event_json(gone));
    CHECK(json["event"] == "agent.disconnected");
    CHECK(json["reason"] == "silence");
    CHECK(json["detail"] == "no frame");
    CHECK_FALSE(json.contains("to"));
    CHECK_FALSE(json.contains("peer"));

    auto moved = agent_hook_event(kHookAgentMoved, "ms1", HookHost{"h1", 1, "z"}, "superseded");
    moved.to = "ms2";
    json = nlohmann::json::parse(hook_event_json(moved));
    CHECK(json["event"] == "agent.moved");
    CHECK(json["reason"] == "superseded");
    CHECK(json["to"] == "ms2");
    CHECK_FALSE(json.contains("detail"));  // empty fields are left out
}

TEST_CASE("a server event names the peer and its state, and no host") {
    const auto event = server_hook_event(kHookServerDown, "ms1", "ms2", "down", "heartbeat_missed", "stale");
    const auto json = nlohmann::json::parse(hook_event_json(event));
    CHECK(json["event"] == "server.down");
    CHECK(json["server"] == "ms1");
    CHECK(json["peer"] == "ms2");
    CHECK(json["state"] == "down");
    CHECK(json["reason"] == "heartbeat_missed");
    CHECK(json["detail"] == "stale");
    CHECK_FALSE(json.contains("host"));
}

TEST_CASE("text that is not UTF-8 or holds quotes and newlines still makes one valid JSON line") {
    const auto event = agent_hook_event(
        kHookAgentDisconnected, "ms1", HookHost{"h\"1\n", 1, "z"}, "bad_input", "\xff\xfe x");
    const auto text = hook_event_json(event);
    CHECK(text.find('\n') == std::string::npos);
    const auto json = nlohmann::json::parse(text);
    CHECK(json["host"]["name"] == "h\"1\n");
    CHECK(json["detail"] == "\xef\xbf\xbd\xef\xbf\xbd x");
}

TEST_CASE("the queue holds at most its limit and counts what it refuses") {
    HookQueue queue(3);
    for (int i = 0; i < 5; ++i) {
        const bool taken =
            queue.push(agent_hook_event(kHookAgentConnected, "ms1", HookHost{std::to_string(i), i, "z"}));
        CHECK(taken == (i < 3));
    }
    CHECK(queue.size() == 3);
    CHECK(queue.dropped() == 2);
    // First in, first out; room again once one is taken.
    CHECK(queue.pop()->host->name == "0");
    CHECK(queue.push(agent_hook_event(kHookAgentConnected, "ms1", HookHost{"5", 5, "z"})));
    CHECK(queue.dropped() == 2);
    CHECK(queue.clear() == 3);
    CHECK(queue.empty());
    CHECK_FALSE(queue.pop().has_value());
    CHECK(HookQueue(kHookQueueLimit).limit() == 1000);
}

TEST_CASE("drops are reported at once, then at most once a period with the count since") {
    using namespace std::chrono_literals;
    DropReport report(10s);
    const DropReport::Clock::time_point t0{};
    CHECK(report.on_drop(t0 + 1s) == 1);
    CHECK(report.on_drop(t0 + 2s) == 0);
    CHECK(report.on_drop(t0 + 5s) == 0);
    CHECK(report.on_drop(t0 + 11s) == 3);
    CHECK(report.on_drop(t0 + 12s) == 0);
}

TEST_CASE("this server's own state changes become server events but preparing makes none") {
    std::string reported;
    auto up = own_state_hook_event("ms1", reported, "up");
    REQUIRE(up.has_value());
    CHECK(up->event == kHookServerUp);
    CHECK(up->peer == "ms1");
    CHECK(up->state == "up");
    CHECK(up->reason == "started");
    CHECK_FALSE(own_state_hook_event("ms1", reported, "up").has_value());
    // A drain cancelled before it reached maintenance: nothing at all.
    CHECK_FALSE(own_state_hook_event("ms1", reported, "preparing").has_value());
    CHECK_FALSE(own_state_hook_event("ms1", reported, "up").has_value());

    auto maintenance = own_state_hook_event("ms1", reported, "maintenance");
    REQUIRE(maintenance.has_value());
    CHECK(maintenance->event == kHookServerMaintenance);
    CHECK(maintenance->reason == "maintenance");
    auto back = own_state_hook_event("ms1", reported, "up");
    REQUIRE(back.has_value());
    CHECK(back->reason == "maintenance_ended");

    auto down = own_state_hook_event("ms1", reported, "down");
    REQUIRE(down.has_value());
    CHECK(down->event == kHookServerDown);
    CHECK(down->reason == "marked_down");
    CHECK(own_state_hook_event("ms1", reported, "up")->reason == "rejoined");
    // No row (deleted): no event, and the last state stays.
    CHECK_FALSE(own_state_hook_event("ms1", reported, "").has_value());
    CHECK(reported == "up");
}

TEST_CASE("the hook metrics are always rendered, as counters") {
    Metrics metrics;
    auto text = metrics.render();
    CHECK(metric_value(text, "agentlb_hook_runs_total{result=\"ok\"}") == 0.0);
    CHECK(metric_value(text, "agentlb_hook_runs_total{result=\"failed\"}") == 0.0);
    CHECK(metric_value(text, "agentlb_hook_runs_total{result=\"timeout\"}") == 0.0);
    CHECK(metric_value(text, "agentlb_hook_events_dropped_total") == 0.0);
    CHECK_THAT(text, Catch::Contains("# TYPE agentlb_hook_runs_total counter"));
    CHECK_THAT(text, Catch::Contains("# TYPE agentlb_hook_events_dropped_total counter"));
    metrics.hook_runs_ok = 3;
    metrics.hook_runs_failed = 2;
    metrics.hook_runs_timeout = 1;
    metrics.hook_events_dropped = 7;
    text = metrics.render();
    CHECK(metric_value(text, "agentlb_hook_runs_total{result=\"ok\"}") == 3.0);
    CHECK(metric_value(text, "agentlb_hook_runs_total{result=\"failed\"}") == 2.0);
    CHECK(metric_value(text, "agentlb_hook_runs_total{result=\"timeout\"}") == 1.0);
    CHECK(metric_value(text, "agentlb_hook_events_dropped_total") == 7.0);
}
