// The status page's bounded rings (recent events, agents per server) and
// the JSON the page reads from them.

#include "mgmt/agent_history.hpp"
#include "mgmt/event_log.hpp"
#include "mgmt/status_api.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <thread>
#include <vector>

using namespace agentlb::mgmt;

namespace {

StatusEvent event_named(const std::string& host) {
    return refusal_event(1'764'921'600, host, "expired", "certificate expired");
}

HistorySample sample_at(std::int64_t time_ms, std::int64_t m1_agents, const std::string& m2_state = "up") {
    HistorySample sample;
    sample.time_ms = time_ms;
    sample.servers["M1"] = {m1_agents, "up"};
    sample.servers["M2"] = {0, m2_state};
    return sample;
}

}  // namespace

TEST_CASE("the event ring keeps the newest events, oldest first, and numbers every event") {
    EventLog log(3);
    for (int i = 1; i <= 5; ++i) {
        log.add(event_named("h" + std::to_string(i)));
    }
    const auto kept = log.recent();
    REQUIRE(kept.size() == 3);
    CHECK(kept[0].host == "h3");
    CHECK(kept[2].host == "h5");
    CHECK(kept[0].id == 3);
    CHECK(kept[2].id == 5);
    CHECK(log.total() == 5);
}

TEST_CASE("the event ring stays bounded when many threads add at once") {
    EventLog log(50);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&log] {
            for (int i = 0; i < 500; ++i) {
                log.add(event_named("h"));
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    const auto kept = log.recent();
    CHECK(kept.size() == 50);
    CHECK(log.total() == 2000);
    for (std::size_t i = 1; i < kept.size(); ++i) {
        CHECK(kept[i].id == kept[i - 1].id + 1);
    }
}

TEST_CASE("a zero-capacity event ring keeps nothing") {
    EventLog log(0);
    log.add(event_named("h1"));
    CHECK(log.recent().empty());
}

TEST_CASE("the page lists moves, losses and server events, not arrivals nor shutdown closes") {
    const HookHost host{"h1", 7, "z"};
    CHECK_FALSE(status_event_of(agent_hook_event(kHookAgentConnected, "M1", host)));
    CHECK_FALSE(status_event_of(agent_hook_event(kHookAgentDisconnected, "M1", host, "stopped")));

    auto moved = agent_hook_event(kHookAgentMoved, "M1", host, "migrate", "rebalance");
    moved.to = "M2";
    const auto shown = status_event_of(moved);
    REQUIRE(shown);
    CHECK(shown->kind == "agent.moved");
    CHECK(shown->host == "h1");
    CHECK(shown->peer == "M2");
    CHECK(shown->reason == "migrate");

    const auto lost =
        status_event_of(agent_hook_event(kHookAgentDisconnected, "M1", host, "timeout", "silent"));
    REQUIRE(lost);
    CHECK(lost->reason == "timeout");

    const auto own_down = status_event_of(server_hook_event(kHookServerDown, "M1", "M1", "down", "shutdown"));
    REQUIRE(own_down);
    CHECK(own_down->peer == "M1");
    CHECK(own_down->detail == "now down");
    // A peer this server marked down is reported by the history sampler instead.
    CHECK_FALSE(status_event_of(server_hook_event(kHookServerDown, "M1", "M2", "down", "heartbeat_missed")));
}

TEST_CASE("the history ring keeps the newest samples, oldest first") {
    AgentHistory history(4);
    for (int i = 0; i < 10; ++i) {
        history.add(sample_at(1000 * i, i));
    }
    const auto samples = history.samples();
    REQUIRE(samples.size() == 4);
    CHECK(samples.front().time_ms == 6000);
    CHECK(samples.back().time_ms == 9000);
    CHECK(samples.back().servers.at("M1").agents == 9);
}

TEST_CASE("an hour of samples at the default period fits the history ring") {
    CHECK(kHistoryCapacity * kHistorySamplePeriod >= std::chrono::hours(1));
    AgentHistory history;
    for (std::size_t i = 0; i < kHistoryCapacity + 10; ++i) {
        history.add(sample_at(static_cast<std::int64_t>(i), 1));
    }
    CHECK(history.samples().size() == kHistoryCapacity);
}

TEST_CASE("state changes between samples name the server and both states") {
    const auto changes = state_changes(sample_at(0, 1), sample_at(1, 1, "down"));
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].server == "M2");
    CHECK(changes[0].from == "up");
    CHECK(changes[0].to == "down");
    CHECK(state_changes(sample_at(0, 1), sample_at(1, 5)).empty());  // a count is no state change
    HistorySample empty;
    const auto appeared = state_changes(empty, sample_at(0, 1));
    CHECK(appeared.size() == 2);
    CHECK(appeared[0].from.empty());
}

TEST_CASE("/v1/history lists every server seen and each sample's counts") {
    HistorySample only_m1;
    only_m1.time_ms = 500;
    only_m1.servers["M1"] = {2, "up"};
    const auto json = nlohmann::json::parse(history_json({only_m1, sample_at(1500, 3, "down")}, 10000, 360));
    CHECK(json["period_ms"] == 10000);
    CHECK(json["capacity"] == 360);
    CHECK(json["servers"] == nlohmann::json::array({"M1", "M2"}));
    REQUIRE(json["samples"].size() == 2);
    CHECK(json["samples"][0]["time_ms"] == 500);
    CHECK_FALSE(json["samples"][0]["servers"].contains("M2"));
    CHECK(json["samples"][1]["servers"]["M1"]["agents"] == 3);
    CHECK(json["samples"][1]["servers"]["M2"]["state"] == "down");
}

TEST_CASE("/v1/events lists the newest event first, with RFC 3339 times") {
    EventLog log(10);
    log.add(event_named("old"));
    log.add(event_named("new\xff"));  // peer text that is not UTF-8 is replaced, never thrown on
    const auto json = nlohmann::json::parse(events_json(log.recent(), log.capacity(), log.total()));
    CHECK(json["total"] == 2);
    CHECK(json["capacity"] == 10);
    REQUIRE(json["events"].size() == 2);
    CHECK(json["events"][0]["id"] == 2);
    CHECK(json["events"][1]["host"] == "old");
    CHECK(json["events"][1]["time"] == "2025-12-05T08:00:00Z");
    CHECK(json["events"][1]["kind"] == "agent.refused");
    CHECK(json["events"][1]["reason"] == "expired");
}
