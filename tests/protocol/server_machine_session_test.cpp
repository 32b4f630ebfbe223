// The agent port's server side after welcome (pushes and acks, liveness,
// renewal, superseded, migrate), scripted into protocol::ServerMachine.

#include "tests/protocol/server_machine_fixture.hpp"

using namespace agentlb;
using namespace agentlb::protocol;
using namespace agentlb::protocol::test;

TEST_CASE("server: a changed list is pushed with a seq and its ack is timed") {
    Session s;
    s.welcome();
    // Same list: nothing to say.
    CHECK(s.machine.on_assignment(s.update({"a", "b"}), s.seqs, t0 + 4s).empty());
    // Older than what hello saw: ignored.
    CHECK(s.machine.on_assignment(s.update({"c"}, 4), s.seqs, t0 + 4s).empty());

    s.machine.on_message(wire::Ping{1}, t0 + 5s);
    const auto pushed = s.machine.on_assignment(s.update({"c", "a"}), s.seqs, t0 + 4s);
    CHECK(only<Pushed>(pushed).seq == 1);
    const auto list = std::get<wire::MsList>(sent(pushed).at(0));
    CHECK(list.seq == 1);
    CHECK(list.list == std::vector<std::string>{"c", "a"});
    CHECK(s.machine.held().list == list.list);
    CHECK(s.machine.pending_acks() == 1);
    CHECK(s.machine.deadline() == t0 + 4s + kIdleLimit);

    const auto acked = s.machine.on_message(wire::Ack{1}, t0 + 4s + 250ms);
    const auto ack = only<PushAcked>(acked);
    CHECK(ack.seq == 1);
    CHECK(ack.latency == 250ms);
    CHECK(s.machine.pending_acks() == 0);
    // welcome's correction or a push given up already: nothing to count.
    CHECK(s.machine.on_message(wire::Ack{99}, t0 + 5s).empty());
}

TEST_CASE("server: acking a later list gives up the earlier ones") {
    Session s;
    s.welcome();
    s.machine.on_assignment(s.update({"c"}), s.seqs, t0 + 4s);
    s.machine.on_assignment(s.update({"d"}), s.seqs, t0 + 4s);
    const auto acked = s.machine.on_message(wire::Ack{2}, t0 + 5s);
    CHECK(only<PushAcked>(acked).seq == 2);
    const auto lost = only<PushGivenUp>(acked);
    CHECK(lost.seq == 1);
    CHECK(lost.why == "a later list was acknowledged");
    CHECK(s.machine.pending_acks() == 0);
}

TEST_CASE("server: a push not acked in time is given up, the session stays") {
    Session s;
    s.welcome();
    s.machine.on_assignment(s.update({"c"}), s.seqs, t0 + 4s);
    // The agent keeps pinging: only the push is late.
    s.machine.on_message(wire::Ping{1}, t0 + 20s);
    s.machine.on_flushed(0, false, t0 + 20s);
    CHECK(s.machine.on_timer(t0 + 33s).empty());
    const auto timed_out = s.machine.on_timer(t0 + 34s);
    const auto lost = only<PushGivenUp>(timed_out);
    CHECK(lost.seq == 1);
    CHECK(lost.why == "no ack within 30 s");
    CHECK(all_of<Close>(timed_out).empty());
    CHECK(s.machine.welcomed());
    CHECK(s.machine.deadline() == t0 + 20s + kIdleLimit);
}

TEST_CASE("server: a push still waiting when the session closes is not given up later") {
    Session s;
    s.welcome();
    s.machine.on_assignment(s.update({"c"}), s.seqs, t0 + 4s);
    auto update = s.update({"c"});
    update.host_present = false;
    s.machine.on_assignment(update, s.seqs, t0 + 5s);
    REQUIRE(s.machine.state() == State::closing);
    CHECK(s.machine.pending_acks() == 1);  // what the driver subtracts when it ends the session
    s.machine.on_flushed(1, true, t0 + 5s);
    const auto late = s.machine.on_timer(t0 + 4s + kIdleLimit);
    CHECK(all_of<PushGivenUp>(late).empty());
}

TEST_CASE("server: at most 64 pushes wait for their ack") {
    Session s;
    s.welcome();
    for (int i = 0; i < 64; ++i) {
        s.machine.on_assignment(s.update({"x" + std::to_string(i)}), s.seqs, t0 + 4s);
        s.machine.on_flushed(0, false, t0 + 4s);
    }
    CHECK(s.machine.pending_acks() == 64);
    const auto pushed = s.machine.on_assignment(s.update({"last"}), s.seqs, t0 + 5s);
    const auto lost = only<PushGivenUp>(pushed);
    CHECK(lost.seq == 1);
    CHECK(lost.why == "too many unacknowledged lists");
    CHECK(only<Pushed>(pushed).seq == 65);
    CHECK(s.machine.pending_acks() == 64);
}

TEST_CASE("server: a slow reader is dropped when more than 64 frames wait") {
    Session s;
    s.welcome();
    // Many answers in one batch are fine while the socket takes them.
    std::string burst;
    for (int i = 0; i < 200; ++i) {
        burst += frame_of(wire::Ping{i});
    }
    CHECK(sent(s.machine.on_bytes(burst.data(), burst.size(), t0 + 4s)).size() == 200);
    CHECK(s.machine.on_flushed(0, false, t0 + 4s).empty());
    // A full socket: the driver's queue grows.
    CHECK(s.machine.on_flushed(64, true, t0 + 5s).empty());
    const auto dropped = s.machine.on_flushed(65, true, t0 + 5s);
    const auto close = only<Close>(dropped);
    CHECK(close.reason == CloseReason::slow_reader);
    CHECK(close.detail == "64 frames waiting, the agent does not read");
    CHECK_FALSE(close.flush_first);
    CHECK(s.machine.state() == State::closed);
}

TEST_CASE("server: a write blocked for the heartbeat limit closes") {
    Session s;
    s.welcome();
    s.machine.on_message(wire::Ping{1}, t0 + 10s);
    s.machine.on_flushed(1, true, t0 + 10s);
    s.machine.on_message(wire::Ping{2}, t0 + 20s);  // frames keep coming in
    CHECK(s.machine.deadline() == t0 + 10s + kIdleLimit);
    CHECK(s.machine.on_timer(t0 + 39s).empty());
    const auto close = only<Close>(s.machine.on_timer(t0 + 40s));
    CHECK(close.reason == CloseReason::write_blocked);
    CHECK(close.detail == "a write was blocked for 30 s");

    Session unblocked;
    unblocked.welcome();
    unblocked.machine.on_flushed(1, true, t0 + 10s);
    unblocked.machine.on_flushed(0, false, t0 + 12s);
    unblocked.machine.on_message(wire::Ping{2}, t0 + 20s);
    CHECK(unblocked.machine.deadline() == t0 + 20s + kIdleLimit);
}

TEST_CASE("server: silence for the heartbeat limit closes, every frame moves it") {
    Session s;
    s.welcome();
    CHECK(s.machine.deadline() == t0 + 3s + kIdleLimit);
    s.machine.on_message(wire::Ping{1}, t0 + 20s);
    CHECK(s.machine.on_timer(t0 + 33s).empty());  // fired early: harmless
    CHECK(s.machine.deadline() == t0 + 20s + kIdleLimit);
    const auto close = only<Close>(s.machine.on_timer(t0 + 50s));
    CHECK(close.reason == CloseReason::silence);
    CHECK(close.detail == "missed heartbeats, no frame in time");
}

TEST_CASE("server: renew pauses reading until the certificate is issued or refused") {
    Session s;
    s.welcome();
    const auto asked = s.machine.on_message(wire::Renew{"CSR"}, t0 + 4s);
    CHECK(only<IssueCertificate>(asked).csr == "CSR");
    CHECK(s.machine.state() == State::renewing);
    CHECK_FALSE(s.machine.wants_input());
    // A ping that arrives meanwhile waits for the answer.
    const std::string ping = frame_of(wire::Ping{5});
    CHECK(s.machine.on_bytes(ping.data(), ping.size(), t0 + 5s).empty());

    SECTION("issued") {
        const auto answered = s.machine.on_issued(Issued{Issued::Outcome::issued, "CERT", "CA", {}}, t0 + 6s);
        CHECK(sent(answered) == std::vector<wire::Message>{wire::Certificate{"CERT", "CA"}, wire::Pong{5}});
        CHECK(s.machine.wants_input());
    }
    SECTION("refused: the session stays") {
        const auto answered =
            s.machine.on_issued(Issued{Issued::Outcome::refused, {}, {}, "bad CSR"}, t0 + 6s);
        CHECK(sent(answered).at(0) == wire::Message{wire::Error{"renew_refused", "bad CSR"}});
        CHECK(s.machine.welcomed());
    }
    SECTION("the store or CA failed") {
        const auto answered = s.machine.on_issued(Issued{}, t0 + 6s);
        CHECK(std::get<wire::Error>(sent(answered).at(0)).code == "unavailable");
        CHECK(s.machine.welcomed());
    }
}

TEST_CASE("server: a removed host or a revoked serial closes the session") {
    SECTION("removed") {
        Session s;
        s.welcome();
        auto update = s.update({"a", "b"});
        update.host_present = false;
        const auto refused = s.machine.on_assignment(update, s.seqs, t0 + 4s);
        check_refused(refused, "revoked", CloseReason::revoked);
        CHECK(error_message(refused) == "host agent-1 was removed");
        CHECK(std::get<Close>(refused[1]).detail == "host removed, closing its session");
    }
    SECTION("revoked") {
        Session s;
        s.welcome();
        auto update = s.update({"a", "b"});
        update.serial_revoked = true;
        const auto refused = s.machine.on_assignment(update, s.seqs, t0 + 4s);
        check_refused(refused, "revoked", CloseReason::revoked);
        CHECK(error_message(refused) == "certificate serial 0a1b is revoked");
    }
}

TEST_CASE("server: a second session elsewhere supersedes this one") {
    Session before;
    before.hello(hello_from("agent-1"));
    CHECK(before.machine.on_superseded("M2", t0 + 3s).empty());  // not welcomed yet

    Session s;
    s.welcome();
    const auto refused = s.machine.on_superseded("M\n2", t0 + 4s);
    check_refused(refused, "superseded", CloseReason::superseded);
    CHECK(error_message(refused) ==
          "a newer session of host agent-1 is connected to server M\n2; this one is closed");
    CHECK_THAT(std::get<Close>(refused[1]).detail, Catch::Contains("server M\\x0a2 "));
    // The refusal is bounded too: closed when it cannot be written in time.
    s.machine.on_flushed(1, true, t0 + 4s);
    CHECK(s.machine.deadline() == t0 + 4s + kIdleLimit);
    const auto close = only<Close>(s.machine.on_timer(t0 + 4s + kIdleLimit));
    CHECK_FALSE(close.flush_first);
    CHECK(s.machine.state() == State::closed);
    CHECK(s.machine.close_reason() == CloseReason::superseded);
}

TEST_CASE("server: migrate asks a welcomed agent to move") {
    Session s;
    s.hello(hello_from("agent-1"));
    CHECK(s.machine.on_migrate("drain", {}, t0 + 3s).empty());
    Session t;
    t.welcome();
    const auto moved = t.machine.on_migrate("drain", {"10.0.0.1"}, t0 + 4s);
    CHECK(sent(moved) == std::vector<wire::Message>{wire::Migrate{"drain", {"10.0.0.1"}, {}}});
    CHECK(t.machine.welcomed());
}

TEST_CASE("server: the driver's own close ends it once") {
    Session s;
    s.welcome();
    const auto close =
        only<Close>(s.machine.on_abort(CloseReason::stopped, "closed by this server", t0 + 4s));
    CHECK(close.reason == CloseReason::stopped);
    CHECK(s.machine.on_abort(CloseReason::write_failed, "again", t0 + 4s).empty());
    CHECK(s.machine.on_timer(t0 + 100s).empty());
    CHECK(s.machine.on_assignment(s.update({"z"}), s.seqs, t0 + 5s).empty());
}

TEST_CASE("server: a draining server refuses a hello `draining`, and ends a welcomed session the same way") {
    Session looking_up;
    looking_up.hello(hello_from("agent-1"));
    const auto refused = looking_up.machine.on_draining("management server M1 is in maintenance", t0 + 3s);
    check_refused(refused, "draining", CloseReason::draining);
    CHECK(error_message(refused) == "management server M1 is in maintenance");

    Session s;
    s.welcome();
    const auto ended = s.machine.on_draining("maintenance timeout: M1 ends this session", t0 + 4s);
    check_refused(ended, "draining", CloseReason::drained);
    CHECK(error_message(ended) == "maintenance timeout: M1 ends this session");
    // Nothing to do once closing.
    CHECK(s.machine.on_draining("again", t0 + 5s).empty());
}

TEST_CASE("server: the round trip an agent reports is kept for the session, older agents report none") {
    Session s;
    s.welcome();
    CHECK_FALSE(s.machine.rtt_us());
    CHECK(sent(s.machine.on_message(wire::Ping{1}, t0 + 5s)) == std::vector<wire::Message>{wire::Pong{1}});
    CHECK_FALSE(s.machine.rtt_us());
    s.machine.on_message(wire::Ping{2, 4200}, t0 + 10s);
    CHECK(s.machine.rtt_us() == 4200);
    // A ping without one (the agent lost its measurement) keeps the last known.
    s.machine.on_message(wire::Ping{3}, t0 + 15s);
    CHECK(s.machine.rtt_us() == 4200);
}

TEST_CASE("server: a changed renewal policy is pushed with the same list, and sent once") {
    Session s;
    s.welcome();
    const wire::Renewal policy{"p384", 500, true};
    auto update = s.update({"a", "b"});
    update.renewal = policy;
    const auto pushed = s.machine.on_assignment(update, s.seqs, t0 + 4s);
    const auto list = std::get<wire::MsList>(sent(pushed).at(0));
    CHECK(list.list == std::vector<std::string>{"a", "b"});
    REQUIRE(list.renewal.has_value());
    CHECK(*list.renewal == policy);
    // The same policy again: nothing to say.
    CHECK(s.machine.on_assignment(update, s.seqs, t0 + 5s).empty());
    // A list change carries the policy too.
    update.next.list = {"b", "a"};
    const auto again = std::get<wire::MsList>(sent(s.machine.on_assignment(update, s.seqs, t0 + 6s)).at(0));
    CHECK(again.renewal == std::optional<wire::Renewal>(policy));
}

TEST_CASE("server: welcome carries the renewal policy of the lookup") {
    Session s;
    const auto looked = s.hello(hello_from("agent-1", "a,b@static"));
    auto lookup = found({"a", "b"});
    lookup.renewal = wire::Renewal{"rsa3072", 900, false};
    s.machine.on_lookup(std::move(lookup), s.seqs, t0 + 3s);
    const auto welcomed = s.machine.on_recorded(t0 + 3s);
    const auto welcome = std::get<wire::Welcome>(sent(welcomed).at(0));
    REQUIRE(welcome.renewal.has_value());
    CHECK(welcome.renewal->key_type == "rsa3072");
    CHECK(welcome.renewal->fraction_permille == 900);
    CHECK_FALSE(welcome.renewal->automatic);
}
