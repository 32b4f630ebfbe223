#pragma once

// A scripted management server for integration tests, made of the real
// protocol code (common/tls agent-port context + TlsStream, and
// protocol::ServerMachine, the rules agentlb-mgmt runs), for what
// agentlb-mgmt cannot be made to do on demand (e.g. send `migrate`).
//
// It listens on IP:0 (a 127.0.0.x address) with a server certificate for
// that IP issued by the fixture's CA, requires an agent certificate, and
// runs one ServerMachine per connection: `hello` is answered with `welcome`
// (the store lookup answered from the options), `ping` with `pong`, silence
// and the handshake deadline close as on agentlb-mgmt. It records what it
// received and sends what the test asks on a chosen session. It runs its
// own io_context on a background thread; every call from the test waits
// with a hard cap.
//
//   FakeMgmt fake(fixture, "127.0.0.2");
//   // ... list fake.address() in the agent's `host` ...
//   wait_until([&] { return fake.welcomed_sessions() == 1; }, 5s);
//   fake.send(0, wire::Migrate{"maintenance", {}, {}});

#include "common/wire/messages.hpp"
#include "tests/support/ca_fixture.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::test {

struct FakeMgmtOptions {
    std::string name = "fake-ms";         // welcome's server name and the certificate's CN
    std::int64_t host_id = 1;             // welcome's host id
    std::int64_t heartbeat_interval = 1;  // welcome's heartbeat interval, seconds
    // The list the "store" assigns: welcome corrects an agent holding
    // anything else (its seq is the fake's own counter). Unset: no correction.
    std::optional<wire::MsList> correction;
    // Answers `renew` (on the fake's thread): a `certificate` or an `error`
    // to send back. Unset, or no answer: the renewal is refused as `unavailable`.
    std::function<std::optional<wire::Message>(const wire::Renew&)> on_renew;
    // Called on the fake's thread when a session ends, before it is recorded
    // as closed: a test can look at the world at that instant (e.g. what the
    // store names) instead of polling it and racing the close.
    std::function<void(std::size_t session_index)> on_close;
};

// What the fake saw of one accepted connection.
struct FakeSession {
    using Clock = std::chrono::steady_clock;

    std::string hello_name;  // empty until hello arrived
    std::string hello_list;  // the list the agent reported holding
    std::int64_t hello_interval = 0;
    bool welcomed = false;  // welcome written
    Clock::time_point welcomed_at{};
    int pings = 0;                      // answered with pong
    std::vector<std::string> received;  // types of other messages, in order
    bool closed = false;
    Clock::time_point closed_at{};
    std::string close_reason;
    bool peer_close_notify = false;  // the agent ended it with close_notify
};

class FakeMgmt {
public:
    // Binds `ip`:0 and starts accepting. Throws std::runtime_error when the
    // certificate or the listener cannot be made.
    FakeMgmt(const CaFixture& fixture, const std::string& ip, FakeMgmtOptions options = {});
    // Closes the listener and every session, then stops its thread.
    ~FakeMgmt();
    FakeMgmt(const FakeMgmt&) = delete;
    FakeMgmt& operator=(const FakeMgmt&) = delete;

    const FakeMgmtOptions& options() const { return options_; }
    // "IP:PORT", as an agent's list names it.
    std::string address() const;

    // Every accepted connection so far, in accept order (a copy).
    std::vector<FakeSession> sessions() const;
    std::size_t welcomed_sessions() const;
    // Welcomed and not closed.
    std::size_t open_sessions() const;

    // Queues `message` on session `index` (accept order); false when that
    // session is not welcomed, already closed, or the queueing timed out.
    bool send(std::size_t index,
              const wire::Message& message,
              std::chrono::milliseconds timeout = std::chrono::seconds(2));

private:
    struct Impl;
    FakeMgmtOptions options_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace agentlb::test
