// Enrollment, the server side, scripted into the machine: no sockets, no
// TLS, no store (common/protocol/enroll_server_machine.hpp).

#include "tests/protocol/enroll_machine_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace agentlb;
using namespace std::chrono_literals;
using protocol::EnrollClientMachine;
using protocol::EnrollServerMachine;
using protocol::TimePoint;
using namespace agentlb::test::enroll;
using wire::ErrorCode;

namespace {

using Server = EnrollServerMachine;
using Verdict = Server::RateVerdict;

// The `error` a server's actions answer with, and the Close after it.
struct Answered {
    wire::Error error;
    Server::Close close;
};

Answered refusal_in(const Server::Actions& actions) {
    REQUIRE(actions.size() == 2);
    const auto* send = std::get_if<Server::Send>(&actions[0]);
    REQUIRE(send != nullptr);
    const auto* error = std::get_if<wire::Error>(&send->message);
    REQUIRE(error != nullptr);
    const auto* close = std::get_if<Server::Close>(&actions[1]);
    REQUIRE(close != nullptr);
    CHECK(close->flush_first);
    return {*error, *close};
}

// A server that has read `request` and asks for the verdict.
Server server_with(const wire::Message& request) {
    Server server(10s, "192.0.2.7");
    server.start(t0);
    const auto actions = server.on_message(request, t0 + 1s);
    REQUIRE(actions.size() == 1);
    REQUIRE(std::holds_alternative<Server::CheckRateLimit>(actions[0]));
    CHECK(server.state() == Server::State::awaiting_verdict);
    return server;
}

// What an allowed `request` is answered with before the store, or the Redeem.
Server::Actions checked(const wire::EnrollRequest& request) {
    auto server = server_with(request);
    return server.on_rate_verdict(Verdict::allowed, t0 + 1s);
}

}  // namespace

TEST_CASE("enroll server: a good request is redeemed and answered enrolled, then closed after the flush") {
    Server server(10s, "192.0.2.7");
    server.start(t0);
    CHECK(server.deadline() == t0 + 10s);
    // Byte by byte: the frame may arrive in any pieces.
    const std::string bytes = frame_of(good_request());
    Server::Actions actions;
    for (char c : bytes) {
        CHECK(actions.empty());
        actions = server.on_bytes(&c, 1, t0 + 1s);
    }
    REQUIRE(actions.size() == 1);
    CHECK(std::holds_alternative<Server::CheckRateLimit>(actions[0]));

    actions = server.on_rate_verdict(Verdict::allowed, t0 + 1s);
    REQUIRE(actions.size() == 1);
    const auto* redeem = std::get_if<Server::Redeem>(&actions[0]);
    REQUIRE(redeem != nullptr);
    CHECK(redeem->request == good_request());
    CHECK(server.state() == Server::State::awaiting_redeem);
    // The store takes what it takes: no deadline while it works.
    CHECK(server.deadline() == TimePoint::max());
    CHECK(server.on_timer(t0 + 1h).empty());

    wire::EnrollResponse response;
    response.host_id = 7;
    response.name = "kvm1";
    response.zone = "z1";
    actions = server.on_redeemed(protocol::EnrollGranted{response, true}, t0 + 2s);
    REQUIRE(actions.size() == 2);
    const auto* send = std::get_if<Server::Send>(&actions[0]);
    REQUIRE(send != nullptr);
    CHECK(send->message == wire::Message{response});
    const auto* close = std::get_if<Server::Close>(&actions[1]);
    REQUIRE(close != nullptr);
    CHECK(close->reason == Server::CloseReason::enrolled);
    CHECK(close->flush_first);
    CHECK(close->detail == "host kvm1 (id 7, zone z1), re-enrolled");
    CHECK(protocol::enroll_result_label(*close) == "ok");
    CHECK_FALSE(protocol::counts_against_peer(*close));
    CHECK(server.state() == Server::State::closed);
    // Closed: input is ignored.
    CHECK(server.on_message(good_request(), t0 + 3s).empty());
    CHECK(server.on_closed("gone", t0 + 3s).empty());
}

TEST_CASE("enroll server: a bad frame or message is answered bad_request and counts against the peer") {
    SECTION("an oversized frame") {
        Server server(10s, "192.0.2.7");
        server.start(t0);
        const std::string header = {0x7f, 0, 0, 0};
        auto actions = server.on_bytes(header.data(), header.size(), t0);
        REQUIRE(actions.size() == 1);
        REQUIRE(std::holds_alternative<Server::CheckRateLimit>(actions[0]));
        const auto answered = refusal_in(server.on_rate_verdict(Verdict::allowed, t0));
        CHECK(answered.error.code == "bad_request");
        CHECK(answered.error.message.rfind("bad frame: ", 0) == 0);
        CHECK(answered.close.reason == Server::CloseReason::refused);
        CHECK(answered.close.code == ErrorCode::bad_request);
        CHECK(protocol::enroll_result_label(answered.close) == "bad_request");
        CHECK(protocol::counts_against_peer(answered.close));
    }
    SECTION("a payload that is no message") {
        Server server(10s, "192.0.2.7");
        server.start(t0);
        const std::string payload = "nope";
        std::string bytes = {0, 0, 0, static_cast<char>(payload.size())};
        bytes += payload;
        REQUIRE(server.on_bytes(bytes.data(), bytes.size(), t0).size() == 1);
        const auto answered = refusal_in(server.on_rate_verdict(Verdict::allowed, t0));
        CHECK(answered.error.code == "bad_request");
        CHECK(answered.error.message.rfind("bad message: ", 0) == 0);
    }
    SECTION("a message that is not enroll") {
        auto server = server_with(wire::Ping{1});
        const auto answered = refusal_in(server.on_rate_verdict(Verdict::allowed, t0));
        CHECK(answered.error.code == "bad_request");
        CHECK(answered.error.message == "expected an enroll or renew_expired message, got 'ping'");
        CHECK(answered.close.detail ==
              "bad_request: expected an enroll or renew_expired message, got 'ping'");
        CHECK(protocol::counts_against_peer(answered.close));
    }
}

TEST_CASE("enroll server: a limited peer is answered rate_limited without the store being asked") {
    for (const wire::Message& first : {wire::Message{good_request()}, wire::Message{wire::Ping{1}}}) {
        auto server = server_with(first);
        const auto actions = server.on_rate_verdict(Verdict::limited, t0);
        CHECK(find<Server::Redeem>(actions) == nullptr);
        const auto answered = refusal_in(actions);
        CHECK(answered.error.code == "rate_limited");
        CHECK(
            answered.error.message ==
            "too many failed enrollment attempts from 192.0.2.7; wait a minute, then try again with a valid "
            "token");
        CHECK(answered.close.reason == Server::CloseReason::rate_limited);
        CHECK(protocol::enroll_result_label(answered.close) == "rate_limited");
        // A limited answer adds no debt.
        CHECK_FALSE(protocol::counts_against_peer(answered.close));
        CHECK(server.state() == Server::State::closed);
        CHECK(server.on_redeemed(protocol::EnrollStoreUnavailable{}, t0).empty());
    }
}

TEST_CASE("enroll server: the store-free checks refuse before the store, each with its code") {
    struct Case {
        std::string what;
        wire::EnrollRequest request;
        ErrorCode code;
        std::string label;
        std::string text;
    };
    std::vector<Case> cases;
    auto request = good_request();
    request.name = "a/CN=kvm1,O=*";
    cases.push_back({"name", request, ErrorCode::bad_request, "bad_request", "'/' at position 2"});
    request = good_request();
    request.zone = std::string(257, 'z');
    cases.push_back({"zone", request, ErrorCode::bad_request, "bad_request", "257 bytes long; at most 256"});
    request = good_request();
    request.zone = "zone 1";
    cases.push_back({"zone with a space", request, ErrorCode::bad_request, "bad_request", "space"});
    request = good_request();
    request.token = "short";
    cases.push_back({"token", request, ErrorCode::invalid_token, "refused", "malformed"});
    request = good_request();
    request.token = std::string(42, 'A') + "=";
    cases.push_back({"token alphabet", request, ErrorCode::invalid_token, "refused", "malformed"});
    request = good_request();
    request.csr.clear();
    cases.push_back({"csr", request, ErrorCode::bad_csr, "bad_csr", "csr: missing"});
    for (const auto& c : cases) {
        INFO(c.what);
        const auto actions = checked(c.request);
        CHECK(find<Server::Redeem>(actions) == nullptr);
        const auto answered = refusal_in(actions);
        CHECK(answered.error.code == wire::error_code_text(c.code));
        CHECK_THAT(answered.error.message, Catch::Contains(c.text));
        CHECK(answered.close.code == c.code);
        CHECK(protocol::enroll_result_label(answered.close) == c.label);
        CHECK(protocol::counts_against_peer(answered.close));
        CHECK(protocol::check_enroll_request(c.request).has_value());
    }
    // An empty zone is "not asked for".
    request = good_request();
    request.zone.clear();
    CHECK(std::holds_alternative<Server::Redeem>(checked(request).at(0)));
}

TEST_CASE("enroll server: the store's refusals and failures are answered by their code") {
    SECTION("refused by the store (token) or the CA (CSR)") {
        for (const auto& [code, label] : {std::pair{ErrorCode::enrollment_refused, "refused"},
                                          std::pair{ErrorCode::bad_csr, "bad_csr"}}) {
            auto server = server_with(good_request());
            REQUIRE(server.on_rate_verdict(Verdict::allowed, t0).size() == 1);
            const auto answered =
                refusal_in(server.on_redeemed(protocol::EnrollRefusal{code, "join token \x1b used"}, t0));
            CHECK(answered.error.code == wire::error_code_text(code));
            CHECK(answered.error.message == "join token \x1b used");
            // Peer-influenced text is escaped in the detail.
            CHECK(answered.close.detail ==
                  std::string(wire::error_code_text(code)) + ": join token \\x1b used");
            CHECK(protocol::enroll_result_label(answered.close) == std::string(label));
            CHECK(protocol::counts_against_peer(answered.close));
        }
    }
    SECTION("the store is unavailable: the server's fault") {
        auto server = server_with(good_request());
        REQUIRE(server.on_rate_verdict(Verdict::allowed, t0).size() == 1);
        const auto answered =
            refusal_in(server.on_redeemed(protocol::EnrollStoreUnavailable{"disk I/O error"}, t0));
        CHECK(answered.error.code == "unavailable");
        // Says it is the store, not the token, and that a retry is the way out.
        CHECK(answered.error.message ==
              "the server cannot reach its store right now; nothing was redeemed: retry in a moment (here "
              "or on another server)");
        // What the store threw is never sent.
        CHECK(answered.error.message.find("disk") == std::string::npos);
        CHECK(answered.close.reason == Server::CloseReason::store_unavailable);
        CHECK(protocol::enroll_result_label(answered.close) == "store_error");
        CHECK_FALSE(protocol::counts_against_peer(answered.close));
    }
}

TEST_CASE("enroll server: no request in time or a peer gone closes without an answer") {
    SECTION("timeout") {
        Server server(10s, "192.0.2.7");
        server.start(t0);
        const std::string half = frame_of(good_request()).substr(0, 10);
        CHECK(server.on_bytes(half.data(), half.size(), t0 + 1s).empty());
        // Early firing is harmless.
        CHECK(server.on_timer(t0 + 9s).empty());
        CHECK(server.state() == Server::State::awaiting_request);
        const auto actions = server.on_timer(t0 + 10s);
        REQUIRE(actions.size() == 1);
        const auto& close = std::get<Server::Close>(actions[0]);
        CHECK(close.reason == Server::CloseReason::timeout);
        CHECK_FALSE(close.flush_first);
        CHECK(close.detail == "no request in time");
        CHECK(protocol::enroll_result_label(close) == "timeout");
        CHECK_FALSE(protocol::counts_against_peer(close));
        CHECK(server.deadline() == TimePoint::max());
    }
    SECTION("peer closed") {
        Server server(10s, "192.0.2.7");
        server.start(t0);
        const auto actions = server.on_closed("End of file", t0 + 1s);
        REQUIRE(actions.size() == 1);
        const auto& close = std::get<Server::Close>(actions[0]);
        CHECK(close.reason == Server::CloseReason::peer_closed);
        CHECK(close.detail == "End of file");
        CHECK(protocol::enroll_result_label(close) == "closed");
        CHECK(server.state() == Server::State::closed);
    }
    SECTION("a peer gone after its request still gets its answer decided") {
        auto server = server_with(good_request());
        CHECK(server.on_closed("End of file", t0).empty());
        CHECK(std::holds_alternative<Server::Redeem>(server.on_rate_verdict(Verdict::allowed, t0).at(0)));
    }
}

TEST_CASE("enroll server: bytes after the request are not read") {
    Server server(10s, "192.0.2.7");
    server.start(t0);
    const std::string bytes = frame_of(good_request()) + frame_of(wire::Ping{1});
    const auto actions = server.on_bytes(bytes.data(), bytes.size(), t0);
    REQUIRE(actions.size() == 1);
    CHECK(std::holds_alternative<Server::CheckRateLimit>(actions[0]));
    CHECK(server.on_bytes(bytes.data(), bytes.size(), t0).empty());
}

TEST_CASE("enroll server machine: renew_expired goes to its own redeem step, and is answered enrolled") {
    const wire::RenewExpired request{
        "-----BEGIN CERTIFICATE-----\n", "-----BEGIN CERTIFICATE REQUEST-----\n", "c2ln"};
    Server server = server_with(request);
    const auto actions = server.on_rate_verdict(Verdict::allowed, t0 + 1s);
    REQUIRE(actions.size() == 1);
    const auto* redeem = std::get_if<Server::RenewExpiredRedeem>(&actions[0]);
    REQUIRE(redeem != nullptr);
    CHECK(redeem->request == request);
    CHECK(server.state() == Server::State::awaiting_redeem);

    protocol::EnrollGranted granted;
    granted.response.host_id = 7;
    granted.response.name = "kvm1";
    granted.response.zone = "z1";
    granted.renewed_serial = "ab12";
    const auto answered = server.on_redeemed(granted, t0 + 2s);
    REQUIRE(answered.size() == 2);
    const auto* send = std::get_if<Server::Send>(&answered[0]);
    REQUIRE(send != nullptr);
    CHECK(std::holds_alternative<wire::EnrollResponse>(send->message));
    const auto* close = std::get_if<Server::Close>(&answered[1]);
    REQUIRE(close != nullptr);
    CHECK(close->reason == Server::CloseReason::enrolled);
    CHECK(close->detail == "host kvm1 (id 7, zone z1), expired certificate ab12 renewed");
}

TEST_CASE(
    "enroll server machine: a renew_expired without certificate, CSR or signature is refused before redeem") {
    struct Case {
        wire::RenewExpired request;
        ErrorCode code;
        std::string text;
    };
    const std::vector<Case> cases = {
        {{"", "csr", "sig"}, ErrorCode::bad_request, "certificate: missing"},
        {{"cert", "", "sig"}, ErrorCode::bad_csr, "csr: missing"},
        {{"cert", "csr", ""}, ErrorCode::bad_request, "signature: missing"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        Server server = server_with(c.request);
        const auto answered = refusal_in(server.on_rate_verdict(Verdict::allowed, t0 + 1s));
        CHECK(answered.error.code == wire::error_code_text(c.code));
        CHECK_THAT(answered.error.message, Catch::StartsWith(c.text));
        CHECK(answered.close.reason == Server::CloseReason::refused);
        CHECK(server.state() == Server::State::closed);
    }
}
