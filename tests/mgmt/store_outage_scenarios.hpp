#pragma once

// agentlb-mgmt while its store is unreachable, as scenarios run on both
// backends (store_outage_test.cpp on SQLite, store_outage_pg_test.cpp on
// PostgreSQL): the code above the Store interface must behave the same.
// Each takes the fixture on its store and a way to take that store away.

#include "tests/mgmt/integration_helpers.hpp"
#include "tests/support/log_lines.hpp"
#include "tests/support/net_probe.hpp"

#include <algorithm>
#include <functional>
#include <memory>
#include <thread>
#include <utility>

namespace agentlb::test::outage {

using namespace std::chrono_literals;

// The store taken away; restore() (or the end of the object) brings it back.
class Away {
public:
    virtual ~Away() = default;
    virtual void restore() = 0;
};

template <class T>
class AwayAs final : public Away {
public:
    template <class... Args>
    explicit AwayAs(Args&&... args) : inner_(std::forward<Args>(args)...) {}
    void restore() override { inner_.restore(); }

private:
    T inner_;
};

using TakeAway = std::function<std::unique_ptr<Away>()>;

inline const std::vector<std::string> kShortLiveness{"--server-heartbeat-interval", "1"};

// The host's record; nothing while the test's own store connection cannot
// read it (a PostgreSQL connection ended by the outage reconnects with backoff).
inline std::optional<std::string> connected_to(CaFixture& fixture, const std::string& host) {
    try {
        return fixture.store().find_host(host)->connected_to;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

inline bool wait_health(const MgmtServer& server,
                        int status,
                        HttpResponse* last = nullptr,
                        std::chrono::milliseconds timeout = 3s) {
    return wait_until(
        [&] {
            const auto health = http_get(server.admin_port(), "/healthz");
            if (last != nullptr) {
                *last = health;
            }
            return health.status == status;
        },
        timeout);
}

// The first message the server answers a hello with.
inline std::optional<wire::Message> hello_answer(const CaFixture& fixture,
                                                 const AgentIdentity& identity,
                                                 const MgmtServer& server) {
    TestAgent agent(identity, fixture.ca_pem());
    const auto error = agent.connect(server.address());
    INFO(error);
    REQUIRE(error.empty());
    return agent.hello();
}

inline std::string error_code_of(const std::optional<wire::Message>& answer) {
    const auto* error = answer ? std::get_if<wire::Error>(&*answer) : nullptr;
    return error != nullptr ? error->code
                            : "(no error: " + (answer ? wire::encode_message(*answer) : "") + ")";
}

// How long a server may take to see its store back: PostgreSQL connections
// are retried with a backoff of up to a few seconds after a short outage.
inline constexpr std::chrono::milliseconds kBackWithin = 12s;

inline void sessions_stay_and_known_hosts_are_welcomed(CaFixture& fixture, const TakeAway& take_away) {
    MgmtServer m1(fixture, "M1", kShortLiveness);
    fixture.set_config("host", m1.address());
    auto h1 = fixture.enroll("h1");
    auto h2 = fixture.enroll("h2");
    const auto stranger = fixture.mint("h3");  // a valid certificate, in no snapshot
    REQUIRE(wait_synced(fixture, m1));
    auto a1 = connect_agent(fixture, h1, m1);
    REQUIRE(wait_until([&] { return connected_to(fixture, "h1") == std::optional<std::string>("M1"); }, 2s));

    auto away = take_away();
    HttpResponse health;
    REQUIRE(wait_health(m1, 503, &health));
    CHECK_THAT(health.body, Catch::StartsWith("unhealthy: the store cannot be read: "));

    // A known host reconnecting: welcomed with its list, as from the store.
    auto a2 = connect_agent(fixture, h2, m1);
    CHECK(a2->ping());
    // A host the snapshot does not know: sent to another server.
    CHECK(error_code_of(hello_answer(fixture, stranger, m1)) == "unavailable");

    // Several liveness checks and heartbeats fail meanwhile: nothing closes a session.
    std::this_thread::sleep_for(2500ms);
    CHECK(a1->ping());
    CHECK(a2->ping());
    CHECK_FALSE(a1->is_closed());
    CHECK(m1.status()["server"]["store_problem"].is_string());
    // Said once, not again by every heartbeat (each second here) and check:
    // a failure met before the watcher's next read (its 1 s safety poll on
    // PostgreSQL) may be the one that says it.
    CHECK(lines_containing(m1.log(), " error cannot write this server's heartbeat") <= 1);
    CHECK(lines_containing(m1.log(), " error cannot check the other servers' heartbeats") <= 1);
    CHECK(lines_containing(m1.log(), "cannot write this server's heartbeat") >= 2);

    away->restore();
    INFO(m1.log());
    CHECK(wait_health(m1, 200, nullptr, kBackWithin));
    // h2's record, written when the store came back; h1's untouched.
    CHECK(wait_until([&] { return connected_to(fixture, "h2") == std::optional<std::string>("M1"); },
                     kBackWithin));
    CHECK(connected_to(fixture, "h1") == std::optional<std::string>("M1"));
    CHECK(a1->ping());
    CHECK(a2->ping());
    // Each change of state logged once.
    CHECK(lines_containing(m1.log(), "cannot reload from the store") == 1);
    CHECK(wait_until([&] { return lines_containing(m1.log(), "the store answers again") == 1; }, 2s));
    CHECK(m1.status()["server"]["store_problem"].is_null());
}

inline void enrollment_is_told_to_retry(CaFixture& fixture, const TakeAway& take_away) {
    MgmtServer m1(fixture, "M1");
    fixture.set_config("host", m1.address());
    REQUIRE(wait_synced(fixture, m1));
    const auto token = fixture.create_token();
    const auto keys = make_key_and_csr("h1");
    wire::EnrollRequest request;
    request.token = token;
    request.name = "h1";
    request.csr = keys.csr_pem;

    auto away = take_away();
    REQUIRE(wait_health(m1, 503));
    const auto refused = enroll_over_network(m1.enroll_address(), fixture.ca_fingerprint(), request);
    INFO(refused.transport_error);
    REQUIRE(refused.answer.has_value());
    const auto* error = std::get_if<wire::Error>(&*refused.answer);
    REQUIRE(error != nullptr);
    CHECK(error->code == "unavailable");
    CHECK_THAT(error->message, Catch::Contains("cannot reach its store") && Catch::Contains("retry"));
    CHECK(m1.metric("agentlb_enrollments_total{result=\"store_error\"}") == 1);

    away->restore();
    REQUIRE(wait_health(m1, 200, nullptr, kBackWithin));
    // Nothing was redeemed: the same token enrolls.
    const auto enrolled = enroll_over_network(m1.enroll_address(), fixture.ca_fingerprint(), request);
    REQUIRE(enrolled.answer.has_value());
    INFO(wire::encode_message(*enrolled.answer));
    CHECK(std::holds_alternative<wire::EnrollResponse>(*enrolled.answer));
}

inline void past_the_limit_agents_are_moved_away(CaFixture& fixture, const TakeAway& take_away) {
    MgmtServer m1(fixture, "M1", kShortLiveness);
    fixture.set_config("host", m1.address());
    fixture.set_config("agentlb.store.unreachable.limit", "2");
    auto h1 = fixture.enroll("h1");
    auto h2 = fixture.enroll("h2");
    REQUIRE(wait_synced(fixture, m1));
    auto a1 = connect_agent(fixture, h1, m1);
    auto a2 = connect_agent(fixture, h2, m1);
    CHECK(m1.metric("agentlb_serving") == 1);
    CHECK(m1.status()["server"]["serving"] == true);

    auto away = take_away();
    const auto began = std::chrono::steady_clock::now();
    REQUIRE(wait_health(m1, 503));
    // Within the limit: still serving from the snapshot.
    const auto early = hello_answer(fixture, h1, m1);
    CHECK((early && std::holds_alternative<wire::Welcome>(*early)));
    for (auto* agent : {a1.get(), a2.get()}) {
        auto migrate = agent->receive_as<wire::Migrate>(6s);
        INFO(m1.log());
        REQUIRE(migrate.has_value());
        // The limit counts from the last read that worked: one poll before
        // `began` at most (50 ms on SQLite, the 1 s safety poll on PostgreSQL).
        CHECK(std::chrono::steady_clock::now() - began >= 900ms);
        CHECK(std::find(migrate->avoid.begin(), migrate->avoid.end(), m1.address()) != migrate->avoid.end());
        CHECK_THAT(migrate->reason, Catch::Contains("store"));
    }
    CHECK(m1.metric("agentlb_serving") == 0);
    CHECK(m1.metric("agentlb_migrations_sent_total{reason=\"store_outage\"}") >= 2);
    CHECK(m1.status()["server"]["serving"] == false);
    // New hellos go elsewhere; the sessions it has stay until their agents leave.
    CHECK(error_code_of(hello_answer(fixture, h1, m1)) == "unavailable");
    CHECK(a1->ping());
    CHECK(lines_containing(m1.log(), "stops serving") == 1);

    away->restore();
    INFO(m1.log());
    CHECK(wait_until([&] { return m1.metric("agentlb_serving") == 1; }, kBackWithin));
    auto again = connect_agent(fixture, h1, m1);
    CHECK(again->ping());
    CHECK(m1.status()["server"]["serving"] == true);
    CHECK(lines_containing(m1.log(), "serves agents again") == 1);
}

}  // namespace agentlb::test::outage
