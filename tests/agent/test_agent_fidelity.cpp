// CloudStack fidelity of the agent against real management servers on
// 127.0.0.1/.2/.3: no preferred-server check while the list's algorithm is
// shuffle, and a held list without "@algorithm" corrected by the servers.

#include "common/props/properties_file.hpp"
#include "common/util/atomic_file.hpp"
#include "tests/agent/agent_cluster.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <thread>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// ms1..ms3 with `host` naming them in order, algorithm static, check interval
// 0, and one agent h1 enrolled at ms1 (so it holds ms1,ms2,ms3@static).
class Cluster {
public:
    Cluster() {
        const char* ips[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};
        for (int i = 0; i < 3; ++i) {
            servers_.push_back(
                std::make_unique<ManagedServer>(fixture_, "ms" + std::to_string(i + 1), ips[i]));
        }
        fixture_.set_config("host", hosts());
        fixture_.set_config("indirect.agent.lb.algorithm", "static");
        fixture_.set_config("indirect.agent.lb.check.interval", "0");
        for (auto& server : servers_) {
            server->start();
        }
        agent_.start_enrolling(fixture_, *servers_[0]);
        if (!wait_until([&] { return where() == std::optional<std::string>("ms1"); }, 10s)) {
            FAIL("h1 did not enrol and connect to ms1; its log:\n" << tail(agent_.log()));
        }
        REQUIRE(agent_.host_value() == std::optional<std::string>(hosts() + "@static"));
    }

    CaFixture& fixture() { return fixture_; }
    ManagedServer& server(int i) { return *servers_[i]; }
    AgentProcess& agent() { return agent_; }
    std::string hosts() const {
        return servers_[0]->address() + "," + servers_[1]->address() + "," + servers_[2]->address();
    }
    std::optional<std::string> where() { return connected_to(fixture_, agent_.name()); }
    // The server (ms1..ms3) whose address is `address`.
    std::string name_of(const std::string& address) const {
        for (const auto& server : servers_) {
            if (server->address() == address) {
                return server->name();
            }
        }
        return "?" + address;
    }

    void stop_agent() {
        agent_.kill(SIGTERM);
        REQUIRE(agent_.wait(5s) == std::optional<int>(0));
    }

    // What an operator's hand edit (or an older writer) leaves in the file.
    void write_host_value(const std::string& value) {
        auto file = props::PropertiesFile::load(agent_.properties_path());
        REQUIRE(file.ok());
        file->set("host", value);
        REQUIRE(util::write_file_atomically(agent_.properties_path(), file->serialize()).ok());
    }

    // True while h1 stays on `server` for `how_long` (sampled every 50 ms).
    bool stays_on(const std::string& server, std::chrono::milliseconds how_long) {
        const auto until = Clock::now() + how_long;
        while (Clock::now() < until) {
            if (where() != std::optional<std::string>(server)) {
                return false;
            }
            std::this_thread::sleep_for(50ms);
        }
        return true;
    }

    bool server_up(const std::string& name) {
        for (const auto& record : fixture_.store().list_servers()) {
            if (record.name == name) {
                return record.state == "up";
            }
        }
        return false;
    }

    std::string logs() {
        std::string all = "--- h1\n" + tail(agent_.log(), 4000);
        for (auto& s : servers_) {
            all += "--- " + s->name() + "\n" + tail(s->log(), 2000);
        }
        return all;
    }

private:
    CaFixture fixture_;
    TempDir root_;
    std::vector<std::unique_ptr<ManagedServer>> servers_;
    AgentProcess agent_{root_, "h1"};
};

}  // namespace

TEST_CASE("under shuffle the agent stays on a non-first server, and a static list moves it back") {
    Cluster cluster;
    cluster.stop_agent();
    // h1 comes back while ms1 is down, holding a shuffled list that happens
    // to name ms1 first: it connects to ms2, and the servers keep its order
    // (shuffle agrees with any list of the same servers).
    cluster.server(0).kill();
    const std::string shuffled = cluster.hosts() + "@shuffle";
    cluster.write_host_value(shuffled);
    cluster.fixture().set_config("indirect.agent.lb.algorithm", "shuffle");
    cluster.fixture().set_config("indirect.agent.lb.check.interval", "1");
    // ms2 must answer with the new configuration, or its welcome reorders the list.
    REQUIRE(wait_until(
        [&] { return cluster.server(1).log().find("@shuffle interval 1") != std::string::npos; }, 5s));
    cluster.agent().start();
    REQUIRE(wait_until([&] { return cluster.where() == std::optional<std::string>("ms2"); }, 10s));

    cluster.server(0).start();
    REQUIRE(wait_until([&] { return cluster.server_up("ms1"); }, 5s));
    // Five check intervals (1 s) with ms1 up and no longer avoided: a
    // running check would have moved h1 back within about one.
    const bool stayed = cluster.stays_on("ms2", 5s);
    INFO(cluster.logs());
    CHECK(stayed);
    CHECK(cluster.agent().log().find("preferred check: trying") == std::string::npos);
    CHECK(cluster.agent().host_value() == std::optional<std::string>(shuffled));
    REQUIRE(stayed);

    // A list with another algorithm turns the check on again.
    cluster.fixture().set_config("indirect.agent.lb.algorithm", "static");
    const bool back = wait_until([&] { return cluster.where() == std::optional<std::string>("ms1"); }, 8s);
    INFO(cluster.logs());
    REQUIRE(back);
    CHECK(cluster.agent().host_value() == std::optional<std::string>(cluster.hosts() + "@static"));
    // The server records the session before its welcome: the log line may come a moment later.
    const std::string moved = "preferred server " + cluster.server(0).address() + " answers";
    CHECK(wait_until([&] { return cluster.agent().log().find(moved) != std::string::npos; }, 2s));
}

namespace {

// The agent starts with `held` in its file (the static list's servers in
// its order), connects, and the server's correction is written back.
void check_corrected_from(const std::string& suffix) {
    Cluster cluster;
    cluster.stop_agent();
    cluster.write_host_value(cluster.hosts() + suffix);
    cluster.agent().start();
    const std::string expected = cluster.hosts() + "@static";
    const bool corrected =
        wait_until([&] { return cluster.agent().host_value() == std::optional<std::string>(expected); }, 8s);
    INFO(cluster.logs());
    REQUIRE(corrected);
    CHECK(cluster.where() == std::optional<std::string>("ms1"));
}

}  // namespace

TEST_CASE("a held list without @algorithm is corrected to the list with @static and written back") {
    // The same servers in the same order as the static list: only the
    // algorithm is missing.
    check_corrected_from("");
}

TEST_CASE("an agent holding a list of an algorithm unknown to its build starts, connects and is corrected") {
    // A downgraded agent holding a newer release's list, or a hand edit:
    // CloudStack's agent starts with it, and so does ours (it used to exit 2).
    check_corrected_from("@fastest");
}

TEST_CASE("a pushed shuffle list turns a running preferred check off") {
    Cluster cluster;
    cluster.fixture().set_config("indirect.agent.lb.check.interval", "1");
    REQUIRE(wait_until(
        [&] { return cluster.server(0).log().find("@static interval 1") != std::string::npos; }, 5s));
    cluster.fixture().set_config("indirect.agent.lb.algorithm", "shuffle");
    std::optional<std::string> held;
    REQUIRE(wait_until(
        [&] {
            held = cluster.agent().host_value();
            return held && held->ends_with("@shuffle");
        },
        5s));
    // The order is random: read which server came first.
    const std::string first_address = held->substr(0, held->find(','));
    const std::string first = cluster.name_of(first_address);
    INFO("h1 holds " << *held << " (first: " << first << ")");
    std::string stay_on = "ms1";
    if (first == "ms1") {
        // Already on its first entry: take ms1 away and bring it back, so
        // that h1 sits on its second entry while its first is up.
        cluster.server(0).kill();
        REQUIRE(wait_until(
            [&] {
                auto now = cluster.where();
                return now && *now != "ms1";
            },
            10s));
        stay_on = *cluster.where();
        cluster.server(0).start();
        REQUIRE(wait_until([&] { return cluster.server_up("ms1"); }, 5s));
    }
    // A running check (interval 1 s) would move h1 to its first entry within about a second.
    const bool stayed = cluster.stays_on(stay_on, 5s);
    INFO(cluster.logs());
    CHECK(stayed);
    CHECK(cluster.agent().log().find("preferred check: trying") == std::string::npos);
    CHECK_THAT(cluster.agent().log(), Catch::Contains("preferred check off under shuffle"));
}
