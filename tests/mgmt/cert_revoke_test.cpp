// `agentlbctl cert revoke` and `cert reissue` against two real servers: the
// revoked agent's live session closes within 5 s, every server refuses the
// certificate afterwards, and the host keeps its id and comes back with the
// reissue token; a reissue token for a host removed and re-created under the
// same name is refused at the enrollment port. Servers record their own
// certificates (`cert list --host M1`).

#include "common/lb/host_list.hpp"
#include "tests/mgmt/integration_helpers.hpp"
#include "tests/support/process.hpp"

#include <catch2/catch.hpp>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

CommandResult ctl(const CaFixture& fixture, const std::vector<std::string>& args) {
    std::vector<std::string> argv{AGENTLB_CTL_BIN, "--db", fixture.db_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, 20s);
}

nlohmann::json ctl_json(const CaFixture& fixture, const std::vector<std::string>& args) {
    std::vector<std::string> argv{"--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    const CommandResult result = ctl(fixture, argv);
    INFO("agentlbctl " << args.front() << " " << args.at(1) << ": " << result.err);
    REQUIRE(result.exit_code == 0);
    return nlohmann::json::parse(result.out);
}

// True when `server` does not welcome `identity` (handshake refused, or
// an error or a close instead of a welcome).
bool refused_by(const CaFixture& fixture, const AgentIdentity& identity, const MgmtServer& server) {
    TestAgent agent(identity, fixture.ca_pem());
    if (!agent.connect(server.address()).empty()) {
        return true;
    }
    const auto answer = agent.hello();
    return !(answer && std::holds_alternative<wire::Welcome>(*answer));
}

EnrollOutcome enroll_with(const CaFixture& fixture,
                          const MgmtServer& server,
                          const std::string& token,
                          const std::string& name,
                          const KeyAndCsr& keys) {
    wire::EnrollRequest request;
    request.token = token;
    request.name = name;
    request.csr = keys.csr_pem;
    return enroll_over_network(server.enroll_address(), fixture.ca_fingerprint(), request, 5s);
}

}  // namespace

TEST_CASE(
    "cert revoke closes the live session within 5 s, every server refuses it, cert reissue brings "
    "the host back with its id") {
    CaFixture fixture;
    MgmtServer m1(fixture, "M1");
    MgmtServer m2(fixture, "M2");
    fixture.set_config("host", lb::join_host_list({m1.address(), m2.address()}));
    const AgentIdentity h1 = fixture.enroll("h1");
    const AgentIdentity h2 = fixture.enroll("h2");
    REQUIRE(wait_synced(fixture, m1));
    REQUIRE(wait_synced(fixture, m2));
    auto a1 = connect_agent(fixture, h1, m1);
    auto a2 = connect_agent(fixture, h2, m1);

    // Each server recorded its own certificate at start.
    for (const auto* server : {&m1, &m2}) {
        const nlohmann::json own = ctl_json(fixture, {"cert", "list", "--host", server->name()});
        REQUIRE(own.size() == 1);
        CHECK(own[0]["kind"] == "server");
        CHECK(own[0]["state"] == "valid");
        CHECK(own[0]["issuer"] == fixture.ca_fingerprint());
    }

    const auto started = std::chrono::steady_clock::now();
    const CommandResult revoked = ctl(fixture, {"cert", "revoke", h1.serial});
    INFO(revoked.err);
    REQUIRE(revoked.exit_code == 0);
    CHECK_THAT(revoked.out, Catch::StartsWith("revoked certificate " + h1.serial + " of host h1"));
    const auto error = a1->receive_as<wire::Error>(5s);
    REQUIRE(error.has_value());
    CHECK(error->code == "revoked");
    CHECK(a1->wait_closed(5s));
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    // The other agent is untouched.
    CHECK(a2->ping());

    // Every server refuses the certificate from now on.
    CHECK(refused_by(fixture, h1, m1));
    CHECK(refused_by(fixture, h1, m2));
    // The host keeps its id and its place.
    const auto kept = fixture.store().find_host("h1");
    REQUIRE(kept);
    CHECK(kept->id == h1.host_id);

    // cert reissue: a token for h1 only; the host enrols again with its id.
    const nlohmann::json reissue = ctl_json(fixture, {"cert", "reissue", "h1"});
    CHECK(reissue["host_id"] == h1.host_id);
    CHECK(reissue["ca_fingerprint"] == fixture.ca_fingerprint());
    const KeyAndCsr keys = make_key_and_csr("h1");
    const EnrollOutcome outcome = enroll_with(fixture, m2, reissue["token"], "h1", keys);
    INFO(outcome.transport_error);
    REQUIRE(outcome.answer.has_value());
    const auto* enrolled = std::get_if<wire::EnrollResponse>(&*outcome.answer);
    INFO(wire::encode_message(*outcome.answer));
    REQUIRE(enrolled != nullptr);
    CHECK(enrolled->host_id == h1.host_id);

    AgentIdentity renewed = h1;
    renewed.key_pem = keys.key_pem;
    renewed.cert_pem = enrolled->certificate;
    REQUIRE(wait_synced(fixture, m1));
    auto back = connect_agent(fixture, renewed, m1);
    CHECK(back->ping());
    // The token is used up.
    const EnrollOutcome twice = enroll_with(fixture, m2, reissue["token"], "h1", make_key_and_csr("h1"));
    REQUIRE(twice.answer.has_value());
    REQUIRE(std::holds_alternative<wire::Error>(*twice.answer));
    CHECK_THAT(std::get<wire::Error>(*twice.answer).message, Catch::Contains("already used"));
}

TEST_CASE(
    "cert reissue and cert revoke refuse an unknown host, an unknown serial and a host re-created "
    "under the same name") {
    CaFixture fixture;
    MgmtServer m1(fixture, "M1");
    fixture.set_config("host", m1.address());
    const AgentIdentity h2 = fixture.enroll("h2");

    const CommandResult unknown_host = ctl(fixture, {"cert", "reissue", "nobody"});
    CHECK(unknown_host.exit_code == 2);
    CHECK_THAT(unknown_host.err, Catch::Contains("no host named \"nobody\" is registered"));
    const CommandResult unknown_serial = ctl(fixture, {"cert", "revoke", "abcdef0123"});
    CHECK(unknown_serial.exit_code == 2);
    CHECK_THAT(unknown_serial.err, Catch::Contains("no certificate with serial \"abcdef0123\""));

    // A token reissued for h2, then h2 removed and enrolled again (a new id).
    const nlohmann::json reissue = ctl_json(fixture, {"cert", "reissue", "h2"});
    REQUIRE(ctl(fixture, {"host", "remove", "h2"}).exit_code == 0);
    const AgentIdentity again = fixture.enroll("h2");
    REQUIRE(again.host_id != h2.host_id);
    REQUIRE(wait_synced(fixture, m1));

    const EnrollOutcome outcome = enroll_with(fixture, m1, reissue["token"], "h2", make_key_and_csr("h2"));
    INFO(outcome.transport_error);
    REQUIRE(outcome.answer.has_value());
    const auto* error = std::get_if<wire::Error>(&*outcome.answer);
    INFO(wire::encode_message(*outcome.answer));
    REQUIRE(error != nullptr);
    CHECK_THAT(error->message,
               Catch::Contains("created by `agentlbctl cert reissue` for host \"h2\" with id " +
                               std::to_string(h2.host_id)) &&
                   Catch::Contains("now has id " + std::to_string(again.host_id)));
    // Nothing changed: the re-created host keeps its certificate and session rights.
    CHECK_FALSE(fixture.store().is_revoked(again.serial));
    auto agent = connect_agent(fixture, again, m1);
    CHECK(agent->ping());
}
