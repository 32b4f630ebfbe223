// The agent daemon against real management servers on 127.0.0.1/.2/.3: the
// lists it holds, failover and the return to the preferred server, backoff,
// pushed lists surviving kills, and SIGHUP.

#include "common/util/atomic_file.hpp"
#include "tests/agent/agent_cluster.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <regex>
#include <signal.h>
#include <thread>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// Three servers (ms1 on 127.0.0.1, ms2 on .2, ms3 on .3) and agents h1..hN
// enrolled one after another, so their ids ascend as DESIGN.md's example.
class Seed {
public:
    explicit Seed(int agents, int check_interval = 0, const std::string& algorithm = "roundrobin") {
        const char* ips[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};
        for (int i = 0; i < 3; ++i) {
            servers_.push_back(
                std::make_unique<ManagedServer>(fixture_, "ms" + std::to_string(i + 1), ips[i]));
        }
        fixture_.set_config("host", m(0) + "," + m(1) + "," + m(2));
        fixture_.set_config("indirect.agent.lb.algorithm", algorithm);
        fixture_.set_config("indirect.agent.lb.check.interval", std::to_string(check_interval));
        for (auto& server : servers_) {
            server->start();
        }
        for (int i = 1; i <= agents; ++i) {
            agents_.push_back(std::make_unique<AgentProcess>(root_, "h" + std::to_string(i)));
            auto& agent = *agents_.back();
            agent.start_enrolling(fixture_, *servers_[0]);
            if (!wait_until([&] { return connected_to(fixture_, agent.name()).has_value(); }, 10s)) {
                FAIL("agent " << agent.name() << " did not enrol and connect; its log:\n"
                              << tail(agent.log()));
            }
        }
    }

    CaFixture& fixture() { return fixture_; }
    ManagedServer& server(int i) { return *servers_[i]; }
    AgentProcess& agent(int i) { return *agents_[i]; }
    std::string m(int i) const { return servers_[i]->address(); }
    std::string list(std::initializer_list<int> order, const std::string& algorithm) const {
        std::string out;
        for (int i : order) {
            out += (out.empty() ? "" : ",") + m(i);
        }
        return out + "@" + algorithm;
    }
    std::optional<std::string> where(int agent) { return connected_to(fixture_, agents_[agent]->name()); }
    std::string logs() {
        std::string all;
        for (auto& a : agents_) {
            all += "--- " + a->name() + "\n" + tail(a->log(), 3000);
        }
        for (auto& s : servers_) {
            all += "--- " + s->name() + "\n" + tail(s->log(), 2000);
        }
        return all;
    }

private:
    CaFixture fixture_;
    TempDir root_;
    std::vector<std::unique_ptr<ManagedServer>> servers_;
    std::vector<std::unique_ptr<AgentProcess>> agents_;
};

// "retrying in N ms" values from an agent log, in order.
std::vector<long> retry_waits(const std::string& log) {
    std::vector<long> waits;
    const std::regex pattern("retrying in ([0-9]+) ms");
    for (auto it = std::sregex_iterator(log.begin(), log.end(), pattern); it != std::sregex_iterator();
         ++it) {
        waits.push_back(std::stol((*it)[1].str()));
    }
    return waits;
}

}  // namespace

TEST_CASE("seed: each agent holds the design's roundrobin list and is connected to its first entry") {
    Seed seed(4);
    const std::vector<std::string> expected{seed.list({0, 1, 2}, "roundrobin"),
                                            seed.list({1, 2, 0}, "roundrobin"),
                                            seed.list({2, 0, 1}, "roundrobin"),
                                            seed.list({0, 1, 2}, "roundrobin")};
    const std::vector<std::string> first{"ms1", "ms2", "ms3", "ms1"};
    for (int i = 0; i < 4; ++i) {
        INFO("agent h" << i + 1 << "\n" << seed.logs());
        CHECK(seed.agent(i).host_value() == std::optional<std::string>(expected[i]));
        CHECK(wait_until([&] { return seed.where(i) == std::optional<std::string>(first[i]); }, 5s));
    }
}

TEST_CASE("failover to the next entry, then back to the preferred server without a gap") {
    Seed seed(4, 2);
    REQUIRE(wait_until([&] { return seed.where(0) == std::optional<std::string>("ms1"); }, 5s));

    seed.server(0).kill();
    const auto killed = Clock::now();
    const bool moved = wait_until(
        [&] {
            return seed.where(0) == std::optional<std::string>("ms2") &&
                   seed.where(3) == std::optional<std::string>("ms2");
        },
        5s);
    INFO(seed.logs());
    REQUIRE(moved);
    CHECK(Clock::now() - killed < 5s);
    // h2 and h3 were never on ms1 and stay where they are.
    CHECK(seed.where(1) == std::optional<std::string>("ms2"));
    CHECK(seed.where(2) == std::optional<std::string>("ms3"));

    seed.server(0).start();
    const auto restarted = Clock::now();
    int samples = 0;
    int gaps = 0;
    bool back = false;
    while (Clock::now() - restarted < 8s) {
        const auto where = seed.where(0);
        ++samples;
        if (!where) {
            ++gaps;
        }
        if (where == std::optional<std::string>("ms1")) {
            back = true;
            break;
        }
        std::this_thread::sleep_for(10ms);
    }
    const auto took = Clock::now() - restarted;
    INFO(seed.logs());
    REQUIRE(back);
    CHECK(gaps == 0);
    // Sampled often enough to see a gap: on a loaded machine the restart
    // itself can take most of the check interval, so the agent may be back
    // after a few samples; what matters is that none was far apart.
    CHECK(samples >= 1 + took / 100ms);
    // Check interval 2 s (+10 % jitter), plus the dial.
    CHECK(took < 3500ms);
    CHECK(wait_until([&] { return seed.where(3) == std::optional<std::string>("ms1"); }, 4s));
    // The server records the connection before it sends `welcome`, so the
    // agent may log the switch a moment after the store shows it.
    const std::string switched = "switched from " + seed.m(1) + " to " + seed.m(0);
    CHECK(wait_until([&] { return seed.agent(0).log().find(switched) != std::string::npos; }, 2s));
}

TEST_CASE("a changed algorithm reaches every agent's properties file within 2 s") {
    Seed seed(4);
    const auto changed = Clock::now();
    seed.fixture().set_config("indirect.agent.lb.algorithm", "static");
    const std::string expected = seed.list({0, 1, 2}, "static");
    const bool all = wait_until(
        [&] {
            for (int i = 0; i < 4; ++i) {
                if (seed.agent(i).host_value() != std::optional<std::string>(expected)) {
                    return false;
                }
            }
            return true;
        },
        5s);
    const auto took = Clock::now() - changed;
    INFO(seed.logs());
    REQUIRE(all);
    CHECK(took < 2s);
    // Every agent moves to the new first entry once its check runs; with the
    // interval at 0 they stay, still connected.
    for (int i = 0; i < 4; ++i) {
        CHECK(seed.where(i).has_value());
    }
}

TEST_CASE("an agent restarted while only its last entry is up connects there") {
    Seed seed(1);
    seed.agent(0).kill(SIGTERM);
    REQUIRE(seed.agent(0).wait(5s) == std::optional<int>(0));
    seed.server(0).kill();
    seed.server(1).kill();
    seed.agent(0).start();
    const bool there = wait_until([&] { return seed.where(0) == std::optional<std::string>("ms3"); }, 8s);
    INFO(seed.logs());
    REQUIRE(there);
    CHECK(seed.agent(0).host_value() == std::optional<std::string>(seed.list({0, 1, 2}, "roundrobin")));
}

TEST_CASE("with every server down the agent retries with growing waits and connects when one returns") {
    Seed seed(1);
    for (int i = 0; i < 3; ++i) {
        seed.server(i).kill();
    }
    // Backoff 200 ms, x2, cap 2 s (test flags): four passes fit in ~4 s.
    REQUIRE(wait_until([&] { return retry_waits(seed.agent(0).log()).size() >= 4; }, 8s));
    const auto waits = retry_waits(seed.agent(0).log());
    INFO(seed.logs());
    CHECK(waits[0] >= 160);
    CHECK(waits[0] <= 240);
    for (std::size_t i = 1; i < 4; ++i) {
        CHECK(waits[i] > waits[i - 1]);
    }
    CHECK(seed.agent(0).running());

    seed.server(1).start();
    const bool connected = wait_until([&] { return seed.where(0) == std::optional<std::string>("ms2"); }, 6s);
    INFO(seed.logs());
    CHECK(connected);
}

TEST_CASE("an agent killed repeatedly while lists are pushed always leaves the old or the new list") {
    Seed seed(2);
    AgentProcess& h2 = seed.agent(1);
    const std::string roundrobin = seed.list({1, 2, 0}, "roundrobin");
    const std::string stat = seed.list({0, 1, 2}, "static");
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> delay_ms(0, 400);
    bool use_static = true;
    for (int round = 0; round < 12; ++round) {
        seed.fixture().set_config("indirect.agent.lb.algorithm", use_static ? "static" : "roundrobin");
        use_static = !use_static;
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
        h2.kill(SIGKILL);
        h2.wait(5s);
        const auto value = h2.host_value();
        INFO("round " << round << ": host=" << value.value_or("(unreadable)") << "\n" << seed.logs());
        REQUIRE(value.has_value());
        CHECK((*value == roundrobin || *value == stat));
        h2.start();
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    }
    // Left running, it ends up with what the store says.
    const std::string last = use_static ? roundrobin : stat;
    INFO(seed.logs());
    CHECK(wait_until([&] { return h2.host_value() == std::optional<std::string>(last); }, 5s));
}

TEST_CASE("SIGHUP with a corrupt properties file keeps the previous settings and the session") {
    Seed seed(1);
    AgentProcess& h1 = seed.agent(0);
    const auto before = util::read_file(h1.properties_path());
    REQUIRE(before.ok());
    REQUIRE(
        util::write_file_atomically(h1.properties_path(), *before + "a line without an equals sign\n").ok());
    h1.kill(SIGHUP);
    const bool refused =
        wait_until([&] { return h1.log().find("SIGHUP: cannot reload") != std::string::npos; }, 5s);
    INFO(h1.log());
    REQUIRE(refused);
    CHECK_THAT(h1.log(), Catch::Contains("line "));
    std::this_thread::sleep_for(300ms);
    CHECK(h1.running());
    CHECK(seed.where(0) == std::optional<std::string>("ms1"));

    // A good file again: the agent reloads it and keeps its session (ms1 is still listed).
    REQUIRE(util::write_file_atomically(h1.properties_path(), *before).ok());
    h1.kill(SIGHUP);
    REQUIRE(wait_until([&] { return h1.log().find("reloaded after SIGHUP") != std::string::npos; }, 5s));
    CHECK(h1.log().find("switched from") == std::string::npos);
    CHECK(seed.where(0) == std::optional<std::string>("ms1"));

    h1.kill(SIGTERM);
    CHECK(h1.wait(5s) == std::optional<int>(0));
}

TEST_CASE("SIGHUP reloads the TLS files the properties name, or keeps the previous ones") {
    Seed seed(1);
    AgentProcess& h1 = seed.agent(0);
    const auto before = util::read_file(h1.properties_path());
    REQUIRE(before.ok());
    const auto folder = h1.properties_path().parent_path();

    // A certificate path that does not exist: nothing of the file is taken.
    REQUIRE(util::write_file_atomically(h1.properties_path(),
                                        *before + "tls.cert.file=" + (folder / "missing.crt").string() + "\n")
                .ok());
    h1.kill(SIGHUP);
    const bool refused =
        wait_until([&] { return h1.log().find("SIGHUP: cannot reload") != std::string::npos; }, 5s);
    INFO(h1.log());
    REQUIRE(refused);
    CHECK_THAT(h1.log(), Catch::Contains("missing.crt"));
    CHECK(h1.log().find("TLS files reloaded") == std::string::npos);
    std::this_thread::sleep_for(300ms);
    CHECK(h1.running());
    CHECK(seed.where(0) == std::optional<std::string>("ms1"));

    // The certificate moved, and the properties say where: it is loaded.
    std::filesystem::copy_file(folder / "agent.crt", folder / "moved.crt");
    REQUIRE(util::write_file_atomically(h1.properties_path(), *before + "tls.cert.file=moved.crt\n").ok());
    h1.kill(SIGHUP);
    REQUIRE(wait_until([&] { return h1.log().find("TLS files reloaded") != std::string::npos; }, 5s));
    CHECK_THAT(h1.log(), Catch::Contains("reloaded after SIGHUP"));
    CHECK(seed.where(0) == std::optional<std::string>("ms1"));

    h1.kill(SIGTERM);
    CHECK(h1.wait(5s) == std::optional<int>(0));
}
