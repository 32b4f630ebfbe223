// Every rule of the agent port's server side, scripted into
// protocol::ServerMachine: no sockets, no certificates, no store.

#include "common/protocol/server_machine.hpp"

#include "common/wire/frame.hpp"

#include <catch2/catch.hpp>

using namespace agentlb;
using namespace agentlb::protocol;
using namespace std::chrono_literals;
using State = ServerMachine::State;

namespace {

const ServerSettings kSettings{"ms1", 10s, 10s};
const TimePoint t0 = TimePoint{} + 1000s;
constexpr auto kIdleLimit = 30s;  // 3 heartbeats of 10 s

const lb::Algorithm& algorithm(std::string_view name) {
    return *lb::find_algorithm(name).value();
}

std::string frame_of(const wire::Message& message) {
    return wire::encode_frame(wire::encode_message(message)).value();
}

PeerCertificate certificate_for(std::string name) {
    return PeerCertificate{true, std::move(name), "0a1b", CertificateCheck::good, {}};
}

wire::Hello hello_from(std::string name, std::string list = "", std::int64_t interval = 0) {
    return wire::Hello{std::move(name), "zone-a", std::move(list), interval, "0.1.0"};
}

HostLookup found(std::vector<std::string> list, std::string algo = "static", std::int64_t generation = 5) {
    HostLookup lookup;
    lookup.found = true;
    lookup.host_id = 7;
    lookup.zone = "zone-a";
    lookup.assignment = lb::Assignment{std::move(list), algo, 0, {}};
    lookup.algorithm = &algorithm(algo);
    lookup.generation = generation;
    return lookup;
}

template <class T>
std::vector<T> all_of(const Actions& actions) {
    std::vector<T> out;
    for (const auto& action : actions) {
        if (const auto* a = std::get_if<T>(&action)) {
            out.push_back(*a);
        }
    }
    return out;
}

template <class T>
T only(const Actions& actions) {
    const auto found = all_of<T>(actions);
    REQUIRE(found.size() == 1);
    return found.front();
}

// The messages Send actions carry, in order.
std::vector<wire::Message> sent(const Actions& actions) {
    std::vector<wire::Message> out;
    for (const auto& send : all_of<Send>(actions)) {
        out.push_back(send.message);
    }
    return out;
}

// The refusal a set of actions ends with: the error sent, then a Close that flushes it first.
void check_refused(const Actions& actions, std::string_view code, CloseReason reason) {
    REQUIRE(actions.size() == 2);
    const auto* send = std::get_if<Send>(&actions[0]);
    REQUIRE(send != nullptr);
    const auto* error = std::get_if<wire::Error>(&send->message);
    REQUIRE(error != nullptr);
    CHECK(error->code == code);
    const auto* close = std::get_if<Close>(&actions[1]);
    REQUIRE(close != nullptr);
    CHECK(close->reason == reason);
    CHECK(close->flush_first);
}

std::string error_message(const Actions& actions) {
    return std::get<wire::Error>(std::get<Send>(actions.at(0)).message).message;
}

// A machine driven to the point under test.
struct Session {
    ServerMachine machine{kSettings, t0};
    SeqCounter seqs;

    Actions hello(const wire::Hello& hello, PeerCertificate certificate = certificate_for("agent-1")) {
        CHECK(machine.on_handshake_done(std::move(certificate), t0 + 1s).empty());
        return machine.on_message(hello, t0 + 2s);
    }

    // Hello, lookup, recording: welcome queued at t0 + 3s.
    Actions welcome(std::vector<std::string> list = {"a", "b"}, std::string reported = "a,b@static") {
        const auto looked = hello(hello_from("agent-1", std::move(reported)));
        REQUIRE(machine.state() == State::looking_up);
        const auto recorded = machine.on_lookup(found(std::move(list)), seqs, t0 + 3s);
        REQUIRE(machine.state() == State::recording);
        auto actions = machine.on_recorded(t0 + 3s);
        REQUIRE(machine.state() == State::established);
        CHECK(machine.on_flushed(0, false, t0 + 3s).empty());
        return actions;
    }

    AssignmentUpdate update(std::vector<std::string> list, std::int64_t generation = 6) {
        return AssignmentUpdate{
            generation, true, false, lb::Assignment{std::move(list), "static", 0, {}}, &algorithm("static")};
    }
};

}  // namespace

TEST_CASE("server: hello is looked up, recorded, then welcomed") {
    Session s;
    CHECK(s.machine.state() == State::awaiting_handshake);
    CHECK_FALSE(s.machine.wants_input());
    const auto looked = s.hello(hello_from("agent-1", "a,b@static"));
    const auto lookup = only<LookupHost>(looked);
    CHECK(lookup.name == "agent-1");
    CHECK(lookup.serial == "0a1b");
    CHECK(lookup.reported_zone == "zone-a");
    CHECK(s.machine.name() == "agent-1");
    // Reading pauses while the store answers.
    CHECK_FALSE(s.machine.wants_input());

    const auto recorded = s.machine.on_lookup(found({"a", "b"}), s.seqs, t0 + 3s);
    // The connection is recorded before the agent hears welcome.
    REQUIRE(recorded.size() == 1);
    CHECK(std::get<RecordConnection>(recorded[0]).host_id == 7);
    CHECK(sent(recorded).empty());
    CHECK_FALSE(s.machine.welcomed());

    const auto welcomed = s.machine.on_recorded(t0 + 3s);
    REQUIRE(welcomed.size() == 2);
    const auto& welcome = std::get<wire::Welcome>(std::get<Send>(welcomed[0]).message);
    CHECK(welcome.host_id == 7);
    CHECK(welcome.server == "ms1");
    CHECK(welcome.heartbeat_interval == 10);
    CHECK_FALSE(welcome.correction);
    CHECK_FALSE(std::get<Welcomed>(welcomed[1]).corrected);
    CHECK(s.machine.welcomed());
    CHECK(s.machine.host_id() == 7);
    CHECK(s.machine.zone() == "zone-a");
    CHECK(s.machine.held().list == std::vector<std::string>{"a", "b"});
    // No seq was used without a correction.
    CHECK(s.seqs.next() == 1);
}

TEST_CASE("server: a stale list is corrected in welcome, numbered from the driver's counter") {
    Session s;
    s.seqs.next();
    s.seqs.next();
    s.hello(hello_from("agent-1", "b@static"));
    s.machine.on_lookup(found({"a", "b"}), s.seqs, t0 + 3s);
    const auto welcomed = s.machine.on_recorded(t0 + 3s);
    const auto welcome = std::get<wire::Welcome>(sent(welcomed).at(0));
    REQUIRE(welcome.correction);
    CHECK(welcome.correction->seq == 3);
    CHECK(welcome.correction->list == std::vector<std::string>{"a", "b"});
    CHECK(welcome.correction->algorithm == "static");
    CHECK(only<Welcomed>(welcomed).corrected);
    CHECK(s.machine.held().list == std::vector<std::string>{"a", "b"});
    // welcome's correction is not a push waiting for its ack.
    CHECK(s.machine.pending_acks() == 0);
}

TEST_CASE("server: an unknown or revoked host is refused without using a seq") {
    SECTION("unknown host") {
        Session s;
        s.hello(hello_from("agent-1"));
        HostLookup lookup;
        const auto refused = s.machine.on_lookup(lookup, s.seqs, t0 + 3s);
        check_refused(refused, "unknown_host", CloseReason::unknown_host);
        CHECK(error_message(refused) == "host agent-1 is not registered");
        CHECK(std::get<Close>(refused[1]).detail == "no host of that name is registered");
        CHECK(s.seqs.next() == 1);
    }
    SECTION("revoked serial") {
        Session s;
        s.hello(hello_from("agent-1"));
        auto lookup = found({"a"});
        lookup.revoked = true;
        const auto refused = s.machine.on_lookup(lookup, s.seqs, t0 + 3s);
        check_refused(refused, "revoked", CloseReason::revoked);
        CHECK(error_message(refused) == "certificate serial 0a1b is revoked");
        CHECK(s.seqs.next() == 1);
    }
    SECTION("the store cannot answer") {
        Session s;
        s.hello(hello_from("agent-1"));
        const auto refused = s.machine.on_lookup_failed(t0 + 3s);
        check_refused(refused, "unavailable", CloseReason::store_error);
    }
}

TEST_CASE("server: the certificate must be there, name the host of hello and pass the leaf check") {
    SECTION("no certificate") {
        Session s;
        const auto refused = s.hello(hello_from("agent-1"), PeerCertificate{});
        check_refused(refused, "no_certificate", CloseReason::no_certificate);
        CHECK(std::get<Close>(refused[1]).detail == "no client certificate after the handshake");
    }
    SECTION("another name, both escaped in the log") {
        Session s;
        const auto refused = s.hello(hello_from("evil\nname"));
        check_refused(refused, "identity_mismatch", CloseReason::identity_mismatch);
        CHECK(error_message(refused) == "hello names a host other than the certificate's");
        CHECK(std::get<Close>(refused[1]).detail ==
              "certificate is for 'agent-1', hello names 'evil\\x0aname'");
        CHECK(s.machine.name().empty());
    }
    SECTION("revoked, as the driver's leaf check typed it") {
        Session s;
        auto certificate = certificate_for("agent-1");
        certificate.check = CertificateCheck::revoked;
        certificate.problem = "certificate revoked (serial 0a1b)";
        const auto refused = s.hello(hello_from("agent-1"), certificate);
        check_refused(refused, "revoked", CloseReason::revoked);
        CHECK(error_message(refused) == "certificate revoked (serial 0a1b)");
    }
    SECTION("any other leaf problem") {
        Session s;
        auto certificate = certificate_for("agent-1");
        certificate.check = CertificateCheck::bad;
        certificate.problem = "certificate is a server certificate, not an agent certificate";
        check_refused(
            s.hello(hello_from("agent-1"), certificate), "bad_certificate", CloseReason::bad_certificate);
    }
}

TEST_CASE("server: the first message must be hello") {
    Session s;
    s.machine.on_handshake_done(certificate_for("agent-1"), t0 + 1s);
    const auto refused = s.machine.on_message(wire::Ping{1}, t0 + 2s);
    check_refused(refused, "protocol", CloseReason::no_hello);
    CHECK(std::get<Close>(refused[1]).detail == "first message was 'ping'");
    // Closing: input is ignored, the refusal is written, then the session is closed.
    CHECK(s.machine.state() == State::closing);
    CHECK(s.machine.on_message(hello_from("agent-1"), t0 + 2s).empty());
    CHECK(s.machine.on_flushed(1, true, t0 + 2s).empty());
    CHECK(s.machine.state() == State::closing);
    CHECK(s.machine.on_flushed(0, false, t0 + 3s).empty());
    CHECK(s.machine.state() == State::closed);
    CHECK(s.machine.deadline() == TimePoint::max());
}

TEST_CASE("server: a bad frame before hello is no hello, after welcome it closes the session") {
    const std::string bad = std::string("\x00\x00\x00\x05", 4) + "nope!";
    SECTION("before hello") {
        Session s;
        s.machine.on_handshake_done(certificate_for("agent-1"), t0 + 1s);
        const auto closed = s.machine.on_bytes(bad.data(), bad.size(), t0 + 2s);
        const auto close = only<Close>(closed);
        CHECK(close.reason == CloseReason::no_hello);
        CHECK_THAT(close.detail, Catch::StartsWith("bad message"));
        CHECK_FALSE(close.flush_first);
    }
    SECTION("after welcome") {
        Session s;
        s.welcome();
        const auto closed = s.machine.on_bytes(bad.data(), bad.size(), t0 + 4s);
        CHECK(only<Close>(closed).reason == CloseReason::bad_input);
        CHECK(s.machine.state() == State::closed);
    }
}

TEST_CASE("server: the handshake and hello deadlines") {
    SECTION("no TLS handshake in time") {
        Session s;
        CHECK(s.machine.deadline() == t0 + 10s);
        CHECK(s.machine.on_timer(t0 + 5s).empty());  // early: harmless
        const auto close = only<Close>(s.machine.on_timer(t0 + 10s));
        CHECK(close.reason == CloseReason::timeout);
        CHECK(close.detail == "no TLS handshake within 10 s");
        CHECK(close_reason_text(close.reason) == "timeout");
    }
    SECTION("no hello in time: the limit starts again after the handshake") {
        Session s;
        s.machine.on_handshake_done(certificate_for("agent-1"), t0 + 4s);
        CHECK(s.machine.deadline() == t0 + 14s);
        CHECK(s.machine.on_timer(t0 + 10s).empty());
        const auto close = only<Close>(s.machine.on_timer(t0 + 14s));
        CHECK(close.reason == CloseReason::no_hello);
        CHECK(close.detail == "no hello in time");
    }
    SECTION("a store that does not answer before the deadline") {
        Session s;
        s.hello(hello_from("agent-1"));
        CHECK(only<Close>(s.machine.on_timer(t0 + 11s)).reason == CloseReason::store_error);
        CHECK(s.machine.on_lookup(found({"a"}), s.seqs, t0 + 12s).empty());
    }
}

TEST_CASE("server: the peer leaving") {
    SECTION("before hello") {
        Session s;
        s.machine.on_handshake_done(certificate_for("agent-1"), t0 + 1s);
        const auto close = only<Close>(s.machine.on_read_error(true, "eof", t0 + 2s));
        CHECK(close.reason == CloseReason::closed);
        CHECK(close.detail == "closed by the agent");
    }
    SECTION("after welcome, at a frame boundary and in the middle of one") {
        Session s;
        s.welcome();
        const std::string half = frame_of(wire::Ping{1}).substr(0, 6);
        CHECK(only<Close>(s.machine.on_read_error(true, "eof", t0 + 4s)).reason == CloseReason::peer_closed);
        Session t;
        t.welcome();
        t.machine.on_bytes(half.data(), half.size(), t0 + 4s);
        const auto close = only<Close>(t.machine.on_read_error(true, "eof", t0 + 5s));
        CHECK(close.reason == CloseReason::read_failed);
        CHECK(close.detail == "closed by the agent in the middle of a frame");
    }
}

TEST_CASE("server: ping is answered, an unexpected message closes") {
    Session s;
    s.welcome();
    const std::string bytes = frame_of(wire::Ping{41}) + frame_of(wire::Ping{42});
    const auto answered = s.machine.on_bytes(bytes.data(), bytes.size(), t0 + 4s);
    CHECK(sent(answered) == std::vector<wire::Message>{wire::Pong{41}, wire::Pong{42}});
    const auto closed = s.machine.on_message(wire::Welcome{}, t0 + 5s);
    const auto close = only<Close>(closed);
    CHECK(close.reason == CloseReason::unexpected_message);
    CHECK(close.detail == "unexpected message 'welcome'");
    CHECK(s.machine.on_message(wire::Ping{43}, t0 + 6s).empty());
}

TEST_CASE("server: frames behind hello are answered once welcome is out") {
    Session s;
    s.machine.on_handshake_done(certificate_for("agent-1"), t0 + 1s);
    const std::string bytes = frame_of(hello_from("agent-1", "a,b@static")) + frame_of(wire::Ping{9});
    CHECK(only<LookupHost>(s.machine.on_bytes(bytes.data(), bytes.size(), t0 + 2s)).name == "agent-1");
    s.machine.on_lookup(found({"a", "b"}), s.seqs, t0 + 3s);
    const auto welcomed = s.machine.on_recorded(t0 + 3s);
    const auto messages = sent(welcomed);
    REQUIRE(messages.size() == 2);
    CHECK(std::holds_alternative<wire::Welcome>(messages[0]));
    CHECK(messages[1] == wire::Message{wire::Pong{9}});
}

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
    CHECK(sent(moved) == std::vector<wire::Message>{wire::Migrate{"drain", {"10.0.0.1"}}});
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
