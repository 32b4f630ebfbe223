// agentlb-mgmt while its store is unreachable (tests/support/store_away.hpp
// takes an SQLite store away under it): established sessions stay, a known
// host is welcomed from the last snapshot and recorded once the store is
// back, an unknown one and enrollment are told `unavailable`, /healthz says
// 503; past agentlb.store.unreachable.limit the server moves its agents
// away and refuses hellos until the store answers again.

#include "tests/mgmt/integration_helpers.hpp"
#include "tests/support/log_lines.hpp"
#include "tests/support/net_probe.hpp"
#include "tests/support/store_away.hpp"

#include <algorithm>
#include <thread>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> kShortLiveness{"--server-heartbeat-interval", "1"};

std::optional<std::string> connected_to(CaFixture& fixture, const std::string& host) {
    return fixture.store().find_host(host)->connected_to;
}

bool wait_health(const MgmtServer& server, int status, HttpResponse* last = nullptr) {
    return wait_until(
        [&] {
            const auto health = http_get(server.admin_port(), "/healthz");
            if (last != nullptr) {
                *last = health;
            }
            return health.status == status;
        },
        3s);
}

// The first message the server answers a hello with.
std::optional<wire::Message> hello_answer(const CaFixture& fixture,
                                          const AgentIdentity& identity,
                                          const MgmtServer& server) {
    TestAgent agent(identity, fixture.ca_pem());
    const auto error = agent.connect(server.address());
    INFO(error);
    REQUIRE(error.empty());
    return agent.hello();
}

std::string error_code_of(const std::optional<wire::Message>& answer) {
    const auto* error = answer ? std::get_if<wire::Error>(&*answer) : nullptr;
    return error != nullptr ? error->code
                            : "(no error: " + (answer ? wire::encode_message(*answer) : "") + ")";
}

}  // namespace

TEST_CASE("without its store a server keeps its sessions and welcomes known hosts from its last snapshot") {
    CaFixture fixture;
    MgmtServer m1(fixture, "M1", kShortLiveness);
    fixture.set_config("host", m1.address());
    auto h1 = fixture.enroll("h1");
    auto h2 = fixture.enroll("h2");
    const auto stranger = fixture.mint("h3");  // a valid certificate, in no snapshot
    REQUIRE(wait_synced(fixture, m1));
    auto a1 = connect_agent(fixture, h1, m1);
    REQUIRE(wait_until([&] { return connected_to(fixture, "h1") == std::optional<std::string>("M1"); }, 2s));

    StoreAway away(fixture.db_path());
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
    // Said once by the watcher, not again by every heartbeat and check.
    CHECK(lines_containing(m1.log(), " error cannot write this server's heartbeat") == 0);
    CHECK(lines_containing(m1.log(), " error cannot check the other servers' heartbeats") == 0);
    CHECK(lines_containing(m1.log(), "cannot write this server's heartbeat") > 0);

    away.restore();
    INFO(m1.log());
    CHECK(wait_health(m1, 200));
    // h2's record, written when the store came back; h1's untouched.
    CHECK(wait_until([&] { return connected_to(fixture, "h2") == std::optional<std::string>("M1"); }, 3s));
    CHECK(connected_to(fixture, "h1") == std::optional<std::string>("M1"));
    CHECK(a1->ping());
    CHECK(a2->ping());
    // Each change of state logged once.
    CHECK(lines_containing(m1.log(), "cannot reload from the store") == 1);
    CHECK(wait_until([&] { return lines_containing(m1.log(), "the store answers again") == 1; }, 2s));
    CHECK(m1.status()["server"]["store_problem"].is_null());
}

TEST_CASE("a session whose record could not be written names its server once the store takes writes") {
    // The host's record names M2, which still holds an older session: the
    // newest session's server must be named, as at welcome, not only an
    // empty record claimed.
    CaFixture fixture;
    MgmtServer m1(fixture, "M1", kShortLiveness);
    MgmtServer m2(fixture, "M2", kShortLiveness);
    fixture.set_config("host", lb::join_host_list({m1.address(), m2.address()}));
    auto h1 = fixture.enroll("h1");
    REQUIRE(wait_synced(fixture, m1));
    REQUIRE(wait_synced(fixture, m2));
    auto older = connect_agent(fixture, h1, m2);
    REQUIRE(wait_until([&] { return connected_to(fixture, "h1") == std::optional<std::string>("M2"); }, 2s));

    const std::string kRefuseRecords =
        "CREATE TRIGGER refuse_records BEFORE UPDATE OF connected_to ON hosts "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END";
    sqlite_exec(fixture.db_path(), kRefuseRecords);
    auto newer = connect_agent(fixture, h1, m1);
    REQUIRE(
        wait_until([&] { return m1.log().find("cannot record the connection") != std::string::npos; }, 3s));
    sqlite_exec(fixture.db_path(), "DROP TRIGGER refuse_records");

    INFO(m1.log());
    CHECK(wait_until([&] { return connected_to(fixture, "h1") == std::optional<std::string>("M1"); }, 3s));
    CHECK(newer->ping());
    // M2 learns of the newer session and closes its own after the grace period.
    auto error = older->receive_as<wire::Error>(6s);
    REQUIRE(error.has_value());
    CHECK(error->code == "superseded");
    CHECK(connected_to(fixture, "h1") == std::optional<std::string>("M1"));
}

TEST_CASE("enrollment without the store is answered a retryable unavailable and works once it is back") {
    CaFixture fixture;
    MgmtServer m1(fixture, "M1");
    fixture.set_config("host", m1.address());
    REQUIRE(wait_synced(fixture, m1));
    const auto token = fixture.create_token();
    const auto keys = make_key_and_csr("h1");
    wire::EnrollRequest request;
    request.token = token;
    request.name = "h1";
    request.csr = keys.csr_pem;

    StoreAway away(fixture.db_path());
    REQUIRE(wait_health(m1, 503));
    const auto refused = enroll_over_network(m1.enroll_address(), fixture.ca_fingerprint(), request);
    INFO(refused.transport_error);
    REQUIRE(refused.answer.has_value());
    const auto* error = std::get_if<wire::Error>(&*refused.answer);
    REQUIRE(error != nullptr);
    CHECK(error->code == "unavailable");
    CHECK_THAT(error->message, Catch::Contains("cannot reach its store") && Catch::Contains("retry"));
    CHECK(m1.metric("agentlb_enrollments_total{result=\"store_error\"}") == 1);

    away.restore();
    REQUIRE(wait_health(m1, 200));
    // Nothing was redeemed: the same token enrolls.
    const auto enrolled = enroll_over_network(m1.enroll_address(), fixture.ca_fingerprint(), request);
    REQUIRE(enrolled.answer.has_value());
    INFO(wire::encode_message(*enrolled.answer));
    CHECK(std::holds_alternative<wire::EnrollResponse>(*enrolled.answer));
}

TEST_CASE(
    "past agentlb.store.unreachable.limit a server moves its agents away and refuses hellos until the "
    "store is back") {
    CaFixture fixture;
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

    StoreAway away(fixture.db_path());
    const auto began = std::chrono::steady_clock::now();
    REQUIRE(wait_health(m1, 503));
    // Within the limit: still serving from the snapshot.
    const auto early = hello_answer(fixture, h1, m1);
    CHECK((early && std::holds_alternative<wire::Welcome>(*early)));
    for (auto* agent : {a1.get(), a2.get()}) {
        auto migrate = agent->receive_as<wire::Migrate>(6s);
        INFO(m1.log());
        REQUIRE(migrate.has_value());
        // The limit counts from the last read that worked, a poll (50 ms) before `began` at most.
        CHECK(std::chrono::steady_clock::now() - began >= 1900ms);
        CHECK(std::find(migrate->avoid.begin(), migrate->avoid.end(), m1.address()) != migrate->avoid.end());
        CHECK_THAT(migrate->reason, Catch::Contains("store"));
    }
    CHECK(m1.metric("agentlb_serving") == 0);
    CHECK(m1.status()["server"]["serving"] == false);
    // New hellos go elsewhere; the sessions it has stay until their agents leave.
    CHECK(error_code_of(hello_answer(fixture, h1, m1)) == "unavailable");
    CHECK(a1->ping());
    CHECK(lines_containing(m1.log(), "stops serving") == 1);

    away.restore();
    INFO(m1.log());
    CHECK(wait_until([&] { return m1.metric("agentlb_serving") == 1; }, 3s));
    auto again = connect_agent(fixture, h1, m1);
    CHECK(again->ping());
    CHECK(m1.status()["server"]["serving"] == true);
    CHECK(lines_containing(m1.log(), "serves agents again") == 1);
}
