// The agent port's server side up to welcome, scripted into
// protocol::ServerMachine: no sockets, no certificates, no store.

#include "tests/protocol/server_machine_fixture.hpp"

using namespace agentlb;
using namespace agentlb::protocol;
using namespace agentlb::protocol::test;

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

namespace {

// A hello holding the configured servers in order, with `held` as sent,
// is corrected to the same list @static.
void check_corrected(const std::string& held) {
    Session s;
    s.hello(hello_from("agent-1", held));
    s.machine.on_lookup(found({"a", "b"}), s.seqs, t0 + 3s);
    const auto welcomed = s.machine.on_recorded(t0 + 3s);
    const auto welcome = std::get<wire::Welcome>(sent(welcomed).at(0));
    REQUIRE(welcome.correction);
    CHECK(welcome.correction->list == std::vector<std::string>{"a", "b"});
    CHECK(welcome.correction->algorithm == "static");
    CHECK(only<Welcomed>(welcomed).corrected);
    CHECK(s.machine.held().algorithm == "static");
}

}  // namespace

TEST_CASE("server: a list reported without @algorithm is corrected even when it is the static list") {
    // CloudStack's compare: a missing algorithm never equals the configured one.
    check_corrected("a,b");
}

TEST_CASE("server: a list reported with an algorithm this server does not know is corrected") {
    // An agent that held a newer server's list (a server rolled back).
    check_corrected("a,b@fastest");
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

TEST_CASE("server: the refusals before welcome and their labels") {
    // Each refusal that answers with an error frame is counted under that frame's code.
    for (const auto reason : {CloseReason::no_certificate,
                              CloseReason::identity_mismatch,
                              CloseReason::revoked,
                              CloseReason::bad_certificate,
                              CloseReason::unknown_host}) {
        CHECK(is_refusal(reason));
        CHECK(wire::error_code_from_text(close_reason_text(reason)).has_value());
    }
    for (const auto reason :
         {CloseReason::timeout, CloseReason::closed, CloseReason::no_hello, CloseReason::store_error}) {
        CHECK(is_refusal(reason));
    }
    // The TLS layer counts its own failures; the rest end welcomed sessions or are ours.
    for (const auto reason : {CloseReason::handshake_failed,
                              CloseReason::peer_closed,
                              CloseReason::silence,
                              CloseReason::slow_reader,
                              CloseReason::superseded,
                              CloseReason::stopped,
                              CloseReason::internal}) {
        CHECK_FALSE(is_refusal(reason));
    }
}
