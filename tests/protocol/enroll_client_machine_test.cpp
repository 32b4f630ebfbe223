// Enrollment, the client side, scripted into the machine: no sockets, no
// TLS (common/protocol/enroll_client_machine.hpp).

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

using Client = EnrollClientMachine;

// A client that sent its request at t0.
Client started_client() {
    Client client(5s);
    const auto actions = client.start(good_request(), t0);
    REQUIRE(actions.size() == 1);
    const auto* send = std::get_if<Client::Send>(&actions[0]);
    REQUIRE(send != nullptr);
    CHECK(send->message == wire::Message{good_request()});
    CHECK(client.deadline() == t0 + 5s);
    CHECK(client.state() == Client::State::awaiting_answer);
    return client;
}

Client::Close close_of(const Client::Actions& actions) {
    REQUIRE(actions.size() == 1);
    const auto* close = std::get_if<Client::Close>(&actions[0]);
    REQUIRE(close != nullptr);
    return *close;
}

}  // namespace

TEST_CASE("enroll client: enrolled is a typed success") {
    auto client = started_client();
    wire::EnrollResponse response;
    response.host_id = 3;
    response.name = "kvm1";
    const std::string bytes = frame_of(response);
    Client::Actions actions;
    for (char c : bytes) {
        CHECK(actions.empty());
        actions = client.on_bytes(&c, 1, t0 + 1s);
    }
    const auto close = close_of(actions);
    CHECK(close.reason == Client::CloseReason::enrolled);
    REQUIRE(close.response.has_value());
    CHECK(*close.response == response);
    CHECK(client.state() == Client::State::closed);
    CHECK(client.deadline() == TimePoint::max());
    CHECK(client.on_timer(t0 + 1h).empty());
}

TEST_CASE("enroll client: an error is a typed refusal, decoded by its code") {
    SECTION("every enrollment code this build knows") {
        for (const auto code : {ErrorCode::enrollment_refused,
                                ErrorCode::invalid_token,
                                ErrorCode::bad_csr,
                                ErrorCode::bad_request,
                                ErrorCode::unavailable,
                                ErrorCode::rate_limited}) {
            INFO(wire::error_code_text(code));
            auto client = started_client();
            const auto close = close_of(client.on_message(wire::make_error(code, "why"), t0 + 1s));
            CHECK(close.reason == Client::CloseReason::refused);
            CHECK(close.code == code);
            REQUIRE(close.refusal.has_value());
            CHECK(close.refusal->message == "why");
            // An `error` answer ends enrolment, but for a server without its store.
            const bool retryable = code == ErrorCode::unavailable;
            CHECK(close.final == !retryable);
            CHECK(close.detail ==
                  std::string(retryable ? "the server cannot enroll now: " : "refused by the server: ") +
                      std::string(wire::error_code_text(code)) + ": why");
        }
    }
    SECTION("a code this build does not know is kept as received") {
        auto client = started_client();
        const auto close =
            close_of(client.on_message(wire::Error{"quota_exceeded", "too many hosts\n"}, t0 + 1s));
        CHECK(close.reason == Client::CloseReason::refused);
        CHECK_FALSE(close.code.has_value());
        REQUIRE(close.refusal.has_value());
        CHECK(close.refusal->code == "quota_exceeded");
        CHECK(close.final);
        // The server's text is escaped for the log.
        CHECK(close.detail == "refused by the server: quota_exceeded: too many hosts\\x0a");
    }
}

TEST_CASE("enroll client: anything else is a retryable failure with its detail") {
    SECTION("another message") {
        auto client = started_client();
        const auto close = close_of(client.on_message(wire::Ping{4}, t0 + 1s));
        CHECK(close.reason == Client::CloseReason::bad_answer);
        CHECK_FALSE(close.final);
        CHECK(close.detail == "unexpected answer ping");
    }
    SECTION("a bad frame") {
        auto client = started_client();
        const std::string bytes(4, '\0');
        const auto close = close_of(client.on_bytes(bytes.data(), bytes.size(), t0 + 1s));
        CHECK(close.reason == Client::CloseReason::bad_answer);
        CHECK_FALSE(close.final);
        CHECK(close.detail.rfind("unreadable answer: bad frame: ", 0) == 0);
    }
    SECTION("the connection ends") {
        auto client = started_client();
        const auto close = close_of(client.on_closed("reading the answer: End of file", t0 + 1s));
        CHECK(close.reason == Client::CloseReason::closed);
        CHECK_FALSE(close.final);
        CHECK(close.detail == "reading the answer: End of file");
    }
    SECTION("no answer in time") {
        auto client = started_client();
        CHECK(client.on_timer(t0 + 4s).empty());
        const auto close = close_of(client.on_timer(t0 + 5s));
        CHECK(close.reason == Client::CloseReason::timeout);
        CHECK_FALSE(close.final);
        CHECK(close.detail == "no answer within 5000 ms");
        // After the close nothing counts.
        CHECK(client.on_message(wire::make_error(ErrorCode::revoked, "x"), t0 + 6s).empty());
    }
}

TEST_CASE("enroll client: nothing happens before start") {
    Client client(5s);
    CHECK(client.state() == Client::State::idle);
    CHECK(client.deadline() == TimePoint::max());
    CHECK(client.on_message(wire::Ping{1}, t0).empty());
    CHECK(client.on_timer(t0 + 1h).empty());
}

TEST_CASE("enroll client machine: sends a renew_expired as given and takes enrolled as the answer") {
    EnrollClientMachine client(5s);
    const wire::RenewExpired request{"cert", "csr", "sig"};
    const auto sent = client.start(request, t0);
    REQUIRE(sent.size() == 1);
    const auto* send = std::get_if<EnrollClientMachine::Send>(&sent[0]);
    REQUIRE(send != nullptr);
    CHECK(send->message == wire::Message(request));
    const auto refused = client.on_message(
        wire::make_error(ErrorCode::expired_beyond_grace, "certificate expired on ..."), t0 + 1s);
    REQUIRE(refused.size() == 1);
    const auto* close = std::get_if<EnrollClientMachine::Close>(&refused[0]);
    REQUIRE(close != nullptr);
    CHECK(close->reason == EnrollClientMachine::CloseReason::refused);
    CHECK(close->code == ErrorCode::expired_beyond_grace);
    CHECK(close->detail == "refused by the server: expired_beyond_grace: certificate expired on ...");
}
