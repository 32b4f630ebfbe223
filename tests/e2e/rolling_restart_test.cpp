// Issue 14's "done when": a rolling restart of the quickstart's three servers,
// done as docs/OPERATIONS.md ("Rolling upgrade of the management servers")
// says, with agentlbctl and `tools/quickstart.sh restart`, keeps every agent
// connected throughout (the store sampled every 100 ms by the ConnectionSampler
// of tests/support/three_servers.hpp) and leaves every agent on the server its
// list puts first.

#include "tests/e2e/quickstart_cluster.hpp"
#include "tests/support/three_servers.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace agentlb::test;
using namespace std::chrono_literals;
using Json = nlohmann::json;

constexpr auto kStepTimeout = std::chrono::milliseconds(30s);
constexpr auto kPoll = std::chrono::milliseconds(200ms);

Json ctl_json(const Quickstart& cluster, std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    const auto result = cluster.ctl(args);
    INFO("agentlbctl --json " << args.at(1) << "...: " << describe(result));
    REQUIRE(result.exit_code == 0);
    return Json::parse(result.out);
}

struct ServerView {
    std::string state;
    bool maintenance = false;
};

// `agentlbctl mgmt list` by name and by address.
struct Servers {
    std::map<std::string, ServerView> by_name;
    std::map<std::string, std::string> name_at;  // address -> name
};

Servers servers(const Quickstart& cluster) {
    Servers out;
    for (const auto& server : ctl_json(cluster, {"mgmt", "list"})) {
        const auto name = server.at("name").get<std::string>();
        out.by_name[name] = {server.at("state").get<std::string>(), server.value("maintenance", false)};
        out.name_at[server.at("address").get<std::string>()] = name;
    }
    return out;
}

std::string state_of(const Quickstart& cluster, const std::string& name) {
    return servers(cluster).by_name.at(name).state;
}

// Host name -> the server holding it ("" for none), from `agentlbctl host list`.
std::map<std::string, std::string> connections(const Quickstart& cluster) {
    std::map<std::string, std::string> out;
    for (const auto& host : ctl_json(cluster, {"host", "list"})) {
        const auto& to = host.at("connected_to");
        out[host.at("name").get<std::string>()] = to.is_null() ? "" : to.get<std::string>();
    }
    return out;
}

// Agents not where the intended layout puts them: the first server of the
// list `agentlbctl preview` computes that is up and not in maintenance.
std::vector<std::string> misplaced(const Quickstart& cluster) {
    const auto known = servers(cluster);
    const auto on = connections(cluster);
    // Named: a range-for over a member of a temporary would outlive it.
    const Json preview = ctl_json(cluster, {"preview"});
    REQUIRE(preview.at("hosts").size() == kQuickstartAgents.size());
    std::vector<std::string> out;
    for (const auto& host : preview.at("hosts")) {
        const auto name = host.at("name").get<std::string>();
        std::string intended;
        for (const auto& address : host.at("list")) {
            const auto server = known.name_at.find(address.get<std::string>());
            if (server != known.name_at.end()) {
                const auto& view = known.by_name.at(server->second);
                if (view.state == "up" && !view.maintenance) {
                    intended = server->second;
                    break;
                }
            }
        }
        if (on.count(name) == 0 || on.at(name) != intended) {
            out.push_back(name + " on '" + (on.count(name) ? on.at(name) : "?") + "', intended '" + intended +
                          "'");
        }
    }
    return out;
}

// `agentlbctl rebalance --dry-run`: the agents a rebalance would move.
Json dry_run_moves(const Quickstart& cluster) {
    Json out = ctl_json(cluster, {"rebalance", "--dry-run"});
    REQUIRE(out.is_array());
    return out;
}

bool settled(const Quickstart& cluster) {
    return misplaced(cluster).empty() && dry_run_moves(cluster).empty();
}

// For a failure: who is misplaced, what the dry run says, and the last lines
// of each agent's log (where it was asked to move, where it went, why).
std::string why_not_settled(const Quickstart& cluster) {
    std::string text = "misplaced:";
    for (const auto& agent : misplaced(cluster)) {
        text += " " + agent + ";";
    }
    text += "\nrebalance --dry-run: " + dry_run_moves(cluster).dump() + "\n";
    for (const auto& agent : kQuickstartAgents) {
        const auto log = read_text(cluster.run_dir() / "logs" / (agent + ".log"));
        auto from = log.size();
        for (int lines = 0; lines < 6 && from > 1; ++lines) {
            from = log.rfind('\n', from - 2);
            from = from == std::string::npos ? 0 : from + 1;
        }
        text += "--- " + agent + ".log, last lines:\n" + log.substr(from);
    }
    return text;
}

// Waits until the cluster is in its intended layout; on failure says why.
void require_settled(const Quickstart& cluster) {
    const bool ok = wait_until([&] { return settled(cluster); }, kStepTimeout, kPoll);
    INFO((ok ? std::string() : why_not_settled(cluster)));
    REQUIRE(ok);
}

using Clock = ConnectionSampler::Clock;

// What the test was doing from when, so that a sample that shows a fault
// names the step; and when each server was drained (from its `--wait`
// returning to its cancel), when no agent may be on it.
class Timeline {
public:
    void step(std::string what) { steps_.emplace_back(Clock::now(), std::move(what)); }
    void drained(const std::string& server) { drained_ = {server, Clock::now()}; }
    void cancelling() {
        if (drained_) {
            windows_.push_back({drained_->first, drained_->second, Clock::now()});
            drained_.reset();
        }
    }

    std::string at(Clock::time_point when, Clock::time_point origin) const {
        std::string what = "before the first step";
        for (const auto& [from, step] : steps_) {
            if (from <= when) {
                what = step;
            }
        }
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(when - origin).count();
        return "+" + std::to_string(ms) + " ms, during '" + what + "'";
    }

    // The server a sample taken at `when` must find empty, if any.
    std::optional<std::string> drained_at(Clock::time_point when) const {
        for (const auto& window : windows_) {
            if (window.from <= when && when < window.to) {
                return window.server;
            }
        }
        return std::nullopt;
    }

private:
    struct Window {
        std::string server;
        Clock::time_point from;
        Clock::time_point to;
    };
    std::vector<std::pair<Clock::time_point, std::string>> steps_;
    std::optional<std::pair<std::string, Clock::time_point>> drained_;
    std::vector<Window> windows_;
};

// Every sample: every agent held a session, and none was on a server between
// its drain and its cancel. Samples came about every 100 ms: a stalled
// sampler proves nothing.
void check_samples(const ConnectionSampler& sampler, const Timeline& timeline) {
    const auto samples = sampler.samples();
    REQUIRE(samples.size() >= 10);
    const auto origin = samples.front().at;
    for (const auto& gap : sampler.gaps()) {
        FAIL_CHECK(gap.host << " had no session at " << timeline.at(gap.at, origin));
    }
    for (const auto& error : sampler.errors()) {
        FAIL_CHECK("the store could not be sampled: " << error);
    }
    for (const auto& sample : samples) {
        const auto drained = timeline.drained_at(sample.at);
        for (const auto& [host, server] : sample.where) {
            if (drained && server == drained) {
                FAIL_CHECK(host << " was on " << *drained << ", in maintenance, at "
                                << timeline.at(sample.at, origin));
            }
        }
    }
    const auto span = samples.back().at - origin;
    INFO(samples.size() << " samples in "
                        << std::chrono::duration_cast<std::chrono::milliseconds>(span).count() << " ms");
    CHECK(static_cast<long>(samples.size()) * 200ms >= span);
}

}  // namespace

TEST_CASE(
    "rolling restart of the three quickstart servers as docs/OPERATIONS.md says: no agent is ever without a "
    "session and every agent ends on the first server of its list",
    "[e2e]") {
    Quickstart cluster;
    const auto started = cluster.start();
    INFO(describe(started));
    REQUIRE(started.exit_code == 0);
    require_settled(cluster);
    const auto pids_before = cluster.recorded_pids();

    ConnectionSampler sampler(cluster.sqlite_store().string(), kQuickstartAgents);
    Timeline timeline;
    sampler.start(100ms);
    for (const auto& name : kQuickstartServers) {
        INFO("server " << name);

        timeline.step("agentlbctl mgmt maintenance " + name + " --wait");
        const auto drained = cluster.ctl({"mgmt", "maintenance", name, "--wait", "--timeout", "30"}, 60s);
        INFO(describe(drained));
        REQUIRE(drained.exit_code == 0);
        timeline.drained(name);
        CHECK(state_of(cluster, name) == "maintenance");
        for (const auto& [host, server] : connections(cluster)) {
            INFO(host);
            CHECK(server != name);
        }

        timeline.step("tools/quickstart.sh restart " + name);
        const pid_t old = cluster.recorded_pids().at(name);
        const auto restarted = cluster.run({"restart", name}, kQuickstartStartTimeout);
        INFO(describe(restarted));
        REQUIRE(restarted.exit_code == 0);
        CHECK(process_gone(old));
        CHECK(cluster.recorded_pids().at(name) != old);

        // A restarted server keeps the operator's maintenance.
        timeline.step("waiting for mgmt list to show " + name + " in maintenance again");
        REQUIRE(wait_until([&] { return state_of(cluster, name) == "maintenance"; }, kStepTimeout, kPoll));

        timeline.step("agentlbctl mgmt cancel-maintenance " + name + " --rebalance");
        timeline.cancelling();
        const auto cancelled = cluster.ctl({"mgmt", "cancel-maintenance", name, "--rebalance"});
        INFO(describe(cancelled));
        REQUIRE(cancelled.exit_code == 0);

        timeline.step("waiting for rebalance --dry-run to list nothing after " + name);
        require_settled(cluster);
    }
    sampler.stop();
    check_samples(sampler, timeline);

    // The intended layout: every server up, out of maintenance, and roundrobin's
    // placement (kvmN on ms((N-1) % 3 + 1), the first entry of its list).
    const auto final_servers = servers(cluster);
    for (const auto& name : kQuickstartServers) {
        INFO(name);
        CHECK(final_servers.by_name.at(name).state == "up");
        CHECK_FALSE(final_servers.by_name.at(name).maintenance);
    }
    const auto on = connections(cluster);
    for (std::size_t i = 0; i < kQuickstartAgents.size(); ++i) {
        INFO(kQuickstartAgents[i]);
        CHECK(on.at(kQuickstartAgents[i]) == kQuickstartServers[i % 3]);
        // The agents themselves were never restarted: their sessions moved.
        CHECK(cluster.recorded_pids().at(kQuickstartAgents[i]) == pids_before.at(kQuickstartAgents[i]));
    }
    CHECK(misplaced(cluster).empty());
    CHECK(dry_run_moves(cluster).empty());
}
