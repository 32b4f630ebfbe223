// The agent daemon and `migrate`: a scripted server (tests/support/fake_mgmt)
// first in the agent's list asks it to move; a real agentlb-mgmt, or
// nothing, is next.
//
// What the agent does (agent/agent_list_updates.cpp on_migrate,
// agent/agent_connection.cpp connection_loop, agent/connection_policy.cpp):
// it adds the asking server to its in-memory avoid list and dials the other
// entries; the first that answers `welcome` is adopted and only then is the
// old session retired (make-before-break). Avoided entries go last among the
// candidates, so the preferred server (the first candidate) is the next entry
// while the avoid list holds: the periodic preferred check does not dial the
// avoided server. The avoid list is replaced by the next list a server
// pushes. If nothing else answers, the agent keeps the session it has and
// tries again after a backoff wait.

#include "common/store/store.hpp"
#include "common/util/atomic_file.hpp"
#include "tests/agent/agent_cluster.hpp"
#include "tests/support/fake_mgmt.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <mutex>
#include <signal.h>
#include <thread>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) {
        ++n;
    }
    return n;
}

// What enrolment leaves behind (host registered in the store; key,
// certificate, CA and properties beside each other), so the agent starts
// on its list without an enrollment port.
void provision(CaFixture& fixture, const AgentProcess& agent, const std::string& host_value, int interval) {
    const auto identity = fixture.enroll(agent.name());
    install_credentials(agent, identity.key_pem, identity.cert_pem, fixture.ca_pem());
    REQUIRE(util::write_file_atomically(agent.properties_path(),
                                        "name=" + agent.name() + "\nzone=" + identity.zone + "\nid=" +
                                            std::to_string(identity.host_id) + "\nhost=" + host_value +
                                            "\nhost.lb.check.interval=" + std::to_string(interval) + "\n")
                .ok());
}

// The store's list is `hosts`, static, checked every second.
void set_static_list(CaFixture& fixture, const std::string& hosts) {
    fixture.set_config("host", hosts);
    fixture.set_config("indirect.agent.lb.algorithm", "static");
    fixture.set_config("indirect.agent.lb.check.interval", "1");
}

// The ends of the agent's and the server's logs, for a failure message.
std::string logs_of(const AgentProcess& agent, const ManagedServer& server) {
    return "--- agent\n" + tail(agent.log()) + "\n--- " + server.name() + "\n" + tail(server.log(), 2000);
}

// The agent is on the fake server's first session and its heartbeat runs.
bool on_fake_with_heartbeat(const FakeMgmt& fake) {
    const auto sessions = fake.sessions();
    return sessions.size() == 1 && sessions[0].welcomed && !sessions[0].closed && sessions[0].pings >= 1;
}

bool sanitizer_clean(const std::string& log) {
    return log.find("Sanitizer") == std::string::npos && log.find("runtime error:") == std::string::npos;
}

}  // namespace

TEST_CASE(
    "migrate: the agent moves to the next server make-before-break and does not come back while the "
    "old one is avoided") {
    CaFixture fixture;
    TempDir root;
    // What the store named at the instant the fake saw its first session
    // end, read on the fake's thread with a store connection of its own.
    std::mutex named_mutex;
    std::optional<std::optional<std::string>> named_at_first_close;
    FakeMgmtOptions fake_options;
    fake_options.on_close = [&, db = fixture.db_path()](std::size_t index) {
        if (index != 0) {
            return;
        }
        auto store = store::open_store(db, store::OpenMode::existing);
        auto record = store->find_host("h-migrate");
        std::lock_guard lock(named_mutex);
        named_at_first_close = record ? record->connected_to : std::nullopt;
    };
    FakeMgmt fake(fixture, "127.0.0.2", fake_options);  // "fake-ms", host id 1, heartbeat 1 s
    ManagedServer real(fixture, "ms-real", "127.0.0.1");
    const std::string hosts = fake.address() + "," + real.address();
    set_static_list(fixture, hosts);
    real.start();

    AgentProcess agent(root, "h-migrate");
    provision(fixture, agent, hosts + "@static", 1);
    agent.start();
    const auto where = [&] { return connected_to(fixture, agent.name()); };
    const auto logs = [&] { return logs_of(agent, real); };

    // The fake is the first entry: the agent settles there and pings it.
    {
        const bool on_fake = wait_until([&] { return on_fake_with_heartbeat(fake); }, 8s);
        INFO(logs());
        REQUIRE(on_fake);
        CHECK(fake.sessions()[0].hello_name == agent.name());
        CHECK_FALSE(where().has_value());
    }

    {
        REQUIRE(fake.send(0, wire::Migrate{"maintenance", {}, {}}));
        const auto migrated = Clock::now();
        std::optional<Clock::time_point> on_real_at;
        const bool moved = wait_until(
            [&] {
                if (!on_real_at && where() == std::optional<std::string>("ms-real")) {
                    on_real_at = Clock::now();
                }
                return on_real_at && fake.sessions()[0].closed;
            },
            8s,
            5ms);
        const auto old_session = fake.sessions()[0];
        INFO(logs() << "\nfake session 0 closed: " << old_session.close_reason);
        REQUIRE(moved);
        CHECK(*on_real_at - migrated < 3s);
        // Make-before-break: the store named the new server (written before
        // the real server sends `welcome`) when the old session ended, and
        // the agent ended it deliberately (close_notify), not by dropping it.
        {
            std::lock_guard lock(named_mutex);
            REQUIRE(named_at_first_close.has_value());
            CHECK(*named_at_first_close == std::optional<std::string>("ms-real"));
        }
        CHECK(old_session.peer_close_notify);
        CHECK_THAT(agent.log(), Catch::Contains("asks us to move: maintenance"));
        CHECK_THAT(agent.log(), Catch::Contains("switched from " + fake.address() + " to " + real.address()));
    }

    // The fake is on the avoid list now, so the preferred server is the real
    // one: with the check every 1 s the agent would be back within ~1.1 s if
    // the avoid list were ignored.
    {
        const auto stay_from = Clock::now();
        bool stayed = true;
        while (Clock::now() - stay_from < 3500ms) {
            if (where() != std::optional<std::string>("ms-real") || fake.sessions().size() != 1) {
                stayed = false;
                break;
            }
            std::this_thread::sleep_for(50ms);
        }
        INFO(logs());
        CHECK(stayed);
        CHECK(fake.sessions().size() == 1);
        CHECK(agent.log().find("preferred check: trying " + fake.address()) == std::string::npos);
    }

    // The avoid list lasts until a server pushes a list (which carries the
    // servers' own avoid list): a changed interval makes the real server push
    // one without the fake, and the preferred check brings the agent back to
    // the first entry, again make-before-break (the real server clears
    // "connected to" when the old session closes).
    {
        fixture.set_config("indirect.agent.lb.check.interval", "2");
        std::optional<Clock::time_point> left_real_at;
        const bool back = wait_until(
            [&] {
                if (!left_real_at && !where().has_value()) {
                    left_real_at = Clock::now();
                }
                const auto s = fake.sessions();
                return left_real_at && s.size() == 2 && s[1].welcomed && !s[1].closed;
            },
            8s,
            5ms);
        INFO(logs());
        REQUIRE(back);
        CHECK(fake.sessions()[1].welcomed_at < *left_real_at);
        CHECK_THAT(agent.log(), Catch::Contains("switched from " + real.address() + " to " + fake.address()));
    }

    agent.kill(SIGTERM);
    CHECK(agent.wait(5s) == std::optional<int>(0));
    CHECK(sanitizer_clean(agent.log()));
}

TEST_CASE("migrate with no other server answering: the agent keeps its session and moves once one answers") {
    CaFixture fixture;
    TempDir root;
    FakeMgmt fake(fixture, "127.0.0.2");  // "fake-ms", host id 1, heartbeat 1 s
    // Listed but not started yet: its port refuses.
    ManagedServer late(fixture, "ms-late", "127.0.0.3");
    const std::string hosts = fake.address() + "," + late.address();
    set_static_list(fixture, hosts);

    AgentProcess agent(root, "h-stay");
    provision(fixture, agent, hosts + "@static", 1);
    agent.start();
    const auto where = [&] { return connected_to(fixture, agent.name()); };
    const auto logs = [&] { return logs_of(agent, late); };

    {
        const bool on_fake = wait_until([&] { return on_fake_with_heartbeat(fake); }, 8s);
        INFO(logs());
        REQUIRE(on_fake);
    }

    const std::string staying = "nothing else answers: staying on " + fake.address();
    {
        REQUIRE(fake.send(0, wire::Migrate{"maintenance", {}, {}}));
        const bool tried = wait_until([&] { return agent.log().find(staying) != std::string::npos; }, 5s);
        INFO(logs());
        REQUIRE(tried);
    }

    // Heartbeat 1 s: over 2.5 s the session stays open and keeps pinging,
    // while the agent keeps trying the other entry (backoff 200 ms, x2).
    {
        const int pings_before = fake.sessions()[0].pings;
        std::this_thread::sleep_for(2500ms);
        const auto sessions = fake.sessions();
        INFO(logs());
        CHECK(sessions.size() == 1);
        CHECK_FALSE(sessions[0].closed);
        CHECK(sessions[0].pings >= pings_before + 2);
        CHECK(count(agent.log(), staying) >= 2);
        CHECK(agent.running());
        CHECK_FALSE(where().has_value());
    }

    // The move is still pending: once the other server answers, the agent
    // goes there, make-before-break.
    {
        late.start();
        std::optional<Clock::time_point> on_late_at;
        const bool moved = wait_until(
            [&] {
                if (!on_late_at && where() == std::optional<std::string>("ms-late")) {
                    on_late_at = Clock::now();
                }
                return on_late_at && fake.sessions()[0].closed;
            },
            8s,
            5ms);
        const auto sessions = fake.sessions();
        INFO(logs() << "\nfake session 0 closed: " << sessions[0].close_reason);
        REQUIRE(moved);
        CHECK(*on_late_at < sessions[0].closed_at);
        CHECK(sessions[0].peer_close_notify);
        CHECK(sessions.size() == 1);
        CHECK_THAT(agent.log(), Catch::Contains("switched from " + fake.address() + " to " + late.address()));
    }

    agent.kill(SIGTERM);
    CHECK(agent.wait(5s) == std::optional<int>(0));
    CHECK(sanitizer_clean(agent.log()));
}

TEST_CASE("migrate with `to` (a rebalance): the agent moves only to a named server, else stays where it is") {
    CaFixture fixture;
    TempDir root;
    // Ahead of the fake in the list but not started yet: its port refuses.
    ManagedServer ahead(fixture, "ms-ahead", "127.0.0.3");
    FakeMgmt fake(fixture, "127.0.0.2");
    // Behind the fake, and answering: a migrate without `to` would go here.
    ManagedServer behind(fixture, "ms-behind", "127.0.0.4");
    behind.start();
    const std::string hosts = ahead.address() + "," + fake.address() + "," + behind.address();
    set_static_list(fixture, hosts);

    AgentProcess agent(root, "h-ahead");
    provision(fixture, agent, hosts + "@static", 0);
    agent.start();
    const auto where = [&] { return connected_to(fixture, agent.name()); };
    const auto logs = [&] { return logs_of(agent, ahead) + "\n" + logs_of(agent, behind); };
    {
        const bool on_fake = wait_until([&] { return on_fake_with_heartbeat(fake); }, 8s);
        INFO(logs());
        REQUIRE(on_fake);
    }

    const std::string staying = "did not take us: staying on " + fake.address();
    REQUIRE(fake.send(0, wire::Migrate{"rebalance", {}, {ahead.address()}}));
    {
        const bool stayed = wait_until([&] { return agent.log().find(staying) != std::string::npos; }, 5s);
        INFO(logs());
        REQUIRE(stayed);
    }
    // It does not move down its list, nor keep retrying.
    std::this_thread::sleep_for(1500ms);
    {
        INFO(logs());
        CHECK_FALSE(where().has_value());
        CHECK_FALSE(fake.sessions()[0].closed);
        CHECK(count(agent.log(), staying) == 1);
    }

    // Asked again once the server ahead answers: it goes there, make-before-break.
    ahead.start();
    REQUIRE(fake.send(0, wire::Migrate{"rebalance", {}, {ahead.address()}}));
    {
        const bool moved = wait_until(
            [&] { return where() == std::optional<std::string>("ms-ahead") && fake.sessions()[0].closed; },
            8s);
        INFO(logs());
        CHECK(moved);
    }
    agent.kill(SIGTERM);
    CHECK(agent.wait(5s) == std::optional<int>(0));
    CHECK(sanitizer_clean(agent.log()));
}
