#pragma once

// A minimal agent for integration tests, made of the real protocol code
// (common/tls TlsStream, the protocol core's frame intake, and its
// AgentMachine for hello -> welcome). It runs its own io_context on a
// background thread; every call waits with a hard cap.
//
// Only the hello exchange is the machine's: after it the test speaks for the
// agent (ack, ping, renew, or wrong messages through send() and send_raw()),
// and receive() hands it every message as it came.
//
//   TestAgent agent(identity, fixture.ca_pem());
//   REQUIRE(agent.connect("127.0.0.1:18250").empty());
//   auto welcome = agent.hello();           // sends hello, waits for welcome
//   auto push = agent.receive_as<wire::MsList>(1s);
//   agent.send(wire::Ack{push->seq});

#include "common/tls/context.hpp"
#include "common/wire/messages.hpp"
#include "tests/support/ca_fixture.hpp"
#include "tests/support/wait.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace agentlb::test {

using namespace std::chrono_literals;

class TestAgent {
public:
    // Presents `identity`'s certificate, trusts `ca_pem` for the server.
    TestAgent(AgentIdentity identity, std::string ca_pem);
    ~TestAgent();
    TestAgent(const TestAgent&) = delete;
    TestAgent& operator=(const TestAgent&) = delete;

    const AgentIdentity& identity() const { return identity_; }

    // TCP connect + TLS handshake; "" on success, else the reason.
    std::string connect(const std::string& address, std::chrono::milliseconds timeout = 5s);
    // The serial of the certificate the server presented at connect().
    std::string server_serial() const;

    // The agent's hello exchange (protocol::AgentMachine): sends hello (name
    // defaults to the identity's) and waits for the first message: welcome,
    // or error, or nothing when the server closed. welcomed() then says
    // whether the machine took it as a welcome (a correction is not acked).
    std::optional<wire::Message> hello(const std::string& held_list = "",
                                       std::int64_t interval = 0,
                                       std::optional<std::string> name = std::nullopt,
                                       std::chrono::milliseconds timeout = 5s);

    // True after a hello() the machine answered with Welcomed; otherwise
    // hello_outcome() says why not.
    bool welcomed() const { return welcomed_; }
    const std::string& hello_outcome() const { return hello_outcome_; }

    // Raw escapes: any message, or bytes, as they are.
    bool send(const wire::Message& message, std::chrono::milliseconds timeout = 5s);
    // Raw bytes on the TLS stream (malformed-frame tests).
    bool send_raw(const std::string& bytes, std::chrono::milliseconds timeout = 5s);

    // The next message, or nothing after `timeout` or when the server closed.
    std::optional<wire::Message> receive(std::chrono::milliseconds timeout);
    // The next message of type T; other messages are dropped. Pongs too.
    template <class T>
    std::optional<T> receive_as(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto left = time_left(deadline);
            if (left.count() <= 0) {
                return std::nullopt;
            }
            auto message = receive(left);
            if (!message) {
                return std::nullopt;
            }
            if (auto* typed = std::get_if<T>(&*message)) {
                return std::move(*typed);
            }
        }
    }

    // The first message of type T that satisfies `accept`; earlier ones are dropped.
    template <class T, class Predicate>
    std::optional<T> receive_until(Predicate accept, std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto left = time_left(deadline);
            if (left.count() <= 0) {
                return std::nullopt;
            }
            auto message = receive_as<T>(left);
            if (!message || accept(*message)) {
                return message;
            }
        }
    }

    // ping with a fresh seq, waits for the pong with that seq.
    bool ping(std::chrono::milliseconds timeout = 2s);

    // Waits until the server closes the connection.
    bool wait_closed(std::chrono::milliseconds timeout);
    bool is_closed() const;
    std::string close_reason() const;

    // Closes the connection (no close_notify).
    void close();

private:
    struct Impl;
    AgentIdentity identity_;
    std::unique_ptr<Impl> impl_;
    std::string address_;  // the server connect() reached
    bool welcomed_ = false;
    std::string hello_outcome_;
    std::int64_t next_ping_ = 1000;
};

struct EnrollOutcome {
    std::string transport_error;  // TLS or socket failure ("" when a message came back)
    std::optional<wire::Message> answer;
};

// One enrollment exchange with the real client context (CA fingerprint
// pinned), run by protocol::EnrollClientMachine like the agent's:
// `answer` holds the `enrolled` or `error` it read, anything else ends in
// `transport_error` with the machine's detail.
// `source_address`: the local address to connect from ("" = any); another
// loopback address (127.0.0.2) is a second sender to the server's rate limit.
EnrollOutcome enroll_over_network(const std::string& address,
                                  const std::string& ca_fingerprint,
                                  const wire::EnrollRequest& request,
                                  std::chrono::milliseconds timeout = 5s,
                                  const std::string& source_address = "");

// The same exchange with `bytes` sent as they are (frames of any shape) after
// the handshake: what the server answers to hostile input.
EnrollOutcome send_to_enrollment_port(const std::string& address,
                                      const std::string& ca_fingerprint,
                                      const std::string& bytes,
                                      std::chrono::milliseconds timeout = 5s,
                                      const std::string& source_address = "");

}  // namespace agentlb::test
