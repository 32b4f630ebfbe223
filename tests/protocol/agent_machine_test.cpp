// Every rule of the agent side of the agent port, scripted into
// protocol::AgentMachine: messages and events in, actions out.

#include "common/protocol/agent_machine.hpp"

#include "common/wire/frame.hpp"

#include <catch2/catch.hpp>

#include <limits>

using namespace agentlb;
using namespace agentlb::protocol;
using namespace std::chrono_literals;

using Machine = AgentMachine;
using State = Machine::State;
using Reason = Machine::CloseReason;

namespace {

const TimePoint t0 = TimePoint{} + 1000h;

Machine::Settings settings() {
    Machine::Settings s;
    s.entry = "ms1:8250";
    s.welcome_timeout = 10s;
    s.heartbeat_fallback = 10s;
    return s;
}

wire::Hello hello() {
    return wire::Hello{"kvm-1", "default", "ms1:8250,ms2:8250@static", 0, "test"};
}

wire::Welcome welcome(std::int64_t heartbeat = 15) {
    return wire::Welcome{7, "ms1", heartbeat, std::nullopt};
}

template <class T>
std::vector<T> all_of(const Machine::Actions& actions) {
    std::vector<T> out;
    for (const auto& a : actions) {
        if (const auto* t = std::get_if<T>(&a)) {
            out.push_back(*t);
        }
    }
    return out;
}

template <class T>
T only(const Machine::Actions& actions) {
    REQUIRE(actions.size() == 1);
    REQUIRE(std::holds_alternative<T>(actions[0]));
    return std::get<T>(actions[0]);
}

// The messages sent, in order.
std::vector<wire::Message> sent(const Machine::Actions& actions) {
    std::vector<wire::Message> out;
    for (const auto& send : all_of<Machine::Send>(actions)) {
        out.push_back(send.message);
    }
    return out;
}

std::string frame(const wire::Message& message) {
    auto framed = wire::encode_frame(wire::encode_message(message));
    REQUIRE(framed.ok());
    return *framed;
}

// A machine past welcome (heartbeat 15 s, at t0).
Machine established() {
    Machine machine(settings());
    machine.start(hello(), t0);
    auto actions = machine.on_message(welcome(), t0);
    REQUIRE(machine.state() == State::established);
    return machine;
}

}  // namespace

TEST_CASE("start sends hello and arms the welcome deadline") {
    Machine machine(settings());
    CHECK(machine.state() == State::idle);
    CHECK(machine.deadline() == TimePoint::max());
    auto send = only<Machine::Send>(machine.start(hello(), t0));
    CHECK(send.message == wire::Message{hello()});
    CHECK(machine.state() == State::awaiting_welcome);
    CHECK(machine.deadline() == t0 + 10s);
    CHECK(machine.start(hello(), t0).empty());  // once
}

TEST_CASE("welcome: welcomed, the heartbeat from welcome, pings every interval") {
    Machine machine(settings());
    machine.start(hello(), t0);
    auto welcomed = only<Machine::Welcomed>(machine.on_message(welcome(15), t0 + 1s));
    CHECK(welcomed.welcome == welcome(15));
    CHECK(welcomed.heartbeat == 15s);
    CHECK(machine.state() == State::established);
    CHECK(machine.deadline() == t0 + 16s);

    CHECK(machine.on_timer(t0 + 15s).empty());  // early: harmless
    CHECK(sent(machine.on_timer(t0 + 16s)) == std::vector<wire::Message>{wire::Ping{1}});
    CHECK(machine.deadline() == t0 + 31s);
    CHECK(machine.on_message(wire::Pong{1}, t0 + 17s).empty());
    CHECK(machine.pings_answered() == 1);
}

TEST_CASE("the first ping can come at a phase of the heartbeat, the next ones every heartbeat") {
    auto s = settings();
    s.first_ping_phase = 0.25;
    Machine machine(s);
    machine.start(hello(), t0);
    machine.on_message(welcome(20), t0);
    CHECK(machine.deadline() == t0 + 5s);
    CHECK(sent(machine.on_timer(t0 + 5s)) == std::vector<wire::Message>{wire::Ping{1}});
    CHECK(machine.deadline() == t0 + 25s);

    s.first_ping_phase = 7;  // clamped
    Machine late(s);
    late.start(hello(), t0);
    late.on_message(welcome(20), t0);
    CHECK(late.deadline() == t0 + 20s);
}

TEST_CASE("a welcome without a heartbeat interval uses the fallback, a huge one is capped") {
    CHECK(heartbeat_from_welcome(wire::Welcome{1, "ms1", 15, std::nullopt}, 10s) == 15s);
    CHECK(heartbeat_from_welcome(wire::Welcome{1, "ms1", 0, std::nullopt}, 10s) == 10s);
    // Found by tests/fuzz (agent_server_message): seconds -> milliseconds overflowed.
    const auto huge = std::numeric_limits<std::int64_t>::max();
    CHECK(heartbeat_from_welcome(wire::Welcome{1, "ms1", huge, std::nullopt}, 10s) == kMaxWelcomeHeartbeat);
    CHECK(heartbeat_from_welcome(wire::Welcome{1, "ms1", 3600, std::nullopt}, 10s) == 3600s);

    Machine machine(settings());
    machine.start(hello(), t0);
    CHECK(only<Machine::Welcomed>(machine.on_message(welcome(0), t0)).heartbeat == 10s);
    CHECK(machine.deadline() == t0 + 10s);
}

TEST_CASE("no welcome before the deadline closes") {
    Machine machine(settings());
    machine.start(hello(), t0);
    CHECK(machine.on_timer(t0 + 9s).empty());
    auto close = only<Machine::Close>(machine.on_timer(t0 + 10s));
    CHECK(close.reason == Reason::welcome_timeout);
    CHECK(close.detail == "no welcome within 10000 ms");
    CHECK(machine.state() == State::closed);
    CHECK(machine.deadline() == TimePoint::max());
    // Closed: a late welcome changes nothing.
    CHECK(machine.on_message(welcome(), t0 + 11s).empty());
    CHECK(machine.state() == State::closed);
}

TEST_CASE("an error answering hello is a typed refusal, then a close") {
    SECTION("a code this build knows") {
        Machine machine(settings());
        machine.start(hello(), t0);
        auto actions =
            machine.on_message(wire::make_error(wire::ErrorCode::revoked, "host kvm-1 was removed"), t0);
        REQUIRE(actions.size() == 2);
        auto refused = std::get<Machine::Refused>(actions[0]);
        CHECK(refused.code == wire::ErrorCode::revoked);
        CHECK(refused.detail == "revoked: host kvm-1 was removed");
        auto close = std::get<Machine::Close>(actions[1]);
        CHECK(close.reason == Reason::refused);
        CHECK(close.detail == "refused by the server: revoked: host kvm-1 was removed");
        CHECK(machine.state() == State::closed);
    }
    SECTION("a code this build does not know is reported as such, escaped") {
        Machine machine(settings());
        machine.start(hello(), t0);
        auto actions = machine.on_message(wire::Error{"too_new\x1b[2J", "try later"}, t0);
        REQUIRE(actions.size() == 2);
        auto refused = std::get<Machine::Refused>(actions[0]);
        CHECK_FALSE(refused.code.has_value());
        CHECK(refused.detail == "too_new\\x1b[2J (a code this agent does not know): try later");
        CHECK(std::get<Machine::Close>(actions[1]).reason == Reason::refused);
    }
}

TEST_CASE("anything but welcome or error before welcome closes") {
    Machine machine(settings());
    machine.start(hello(), t0);
    auto close = only<Machine::Close>(machine.on_message(wire::Ping{1}, t0));
    CHECK(close.reason == Reason::protocol_error);
    CHECK(close.detail == "expected welcome, got ping");
    CHECK(machine.state() == State::closed);
}

TEST_CASE("a welcome with values out of range is a protocol error and nothing of it is used") {
    Machine machine(settings());
    machine.start(hello(), t0);
    wire::Welcome bad = welcome();
    SECTION("heartbeat interval") {
        bad.heartbeat_interval = 3601;
    }
    SECTION("check interval of the correction") {
        bad.correction = wire::MsList{1, {"ms2:8250"}, "static", std::int64_t{1} << 62, {}};
    }
    auto close = only<Machine::Close>(machine.on_message(bad, t0));
    CHECK(close.reason == Reason::protocol_error);
    CHECK_THAT(close.detail,
               Catch::StartsWith("protocol error in welcome: ") && Catch::Contains("out of range"));
    CHECK(machine.state() == State::closed);
}

TEST_CASE("a correction in welcome goes the push path: persisted, then acknowledged") {
    Machine machine(settings());
    machine.start(hello(), t0);
    wire::Welcome w = welcome();
    w.correction = wire::MsList{4, {"ms2:8250", "ms1:8250"}, "roundrobin", 30, {}};
    auto actions = machine.on_message(w, t0);
    REQUIRE(actions.size() == 2);
    CHECK(std::holds_alternative<Machine::Welcomed>(actions[0]));
    auto persist = std::get<Machine::Persist>(actions[1]);
    CHECK(persist.list == *w.correction);
    CHECK(persist.correction);
    CHECK(sent(machine.on_persisted(4, true, t0)) == std::vector<wire::Message>{wire::Ack{4}});
}

TEST_CASE("an ms_list is persisted and acknowledged only once stored") {
    auto machine = established();
    const wire::MsList list{9, {"ms2:8250", "ms1:8250"}, "static", 60, {"ms1:8250"}};
    auto persist = only<Machine::Persist>(machine.on_message(list, t0));
    CHECK(persist.list == list);
    CHECK_FALSE(persist.correction);
    CHECK(sent(machine.on_persisted(9, true, t0)) == std::vector<wire::Message>{wire::Ack{9}});
    // Once: a second answer for the same list sends nothing.
    CHECK(machine.on_persisted(9, true, t0).empty());
    // A list this session never handed out is not acknowledged.
    CHECK(machine.on_persisted(77, true, t0).empty());
}

TEST_CASE("a list that could not be stored is not acknowledged") {
    auto machine = established();
    only<Machine::Persist>(machine.on_message(wire::MsList{3, {"ms2:8250"}, "static", 0, {}}, t0));
    CHECK(machine.on_persisted(3, false, t0).empty());
    CHECK(machine.state() == State::established);
    // The next one is, when stored.
    only<Machine::Persist>(machine.on_message(wire::MsList{4, {"ms2:8250"}, "static", 0, {}}, t0));
    CHECK(sent(machine.on_persisted(4, true, t0)) == std::vector<wire::Message>{wire::Ack{4}});
}

TEST_CASE("acks leave in the order the lists came") {
    auto machine = established();
    for (std::int64_t seq : {5, 6, 7}) {
        only<Machine::Persist>(machine.on_message(wire::MsList{seq, {"ms2:8250"}, "static", 0, {}}, t0));
    }
    CHECK(machine.on_persisted(7, true, t0).empty());  // waits for 5 and 6
    CHECK(machine.on_persisted(6, false, t0).empty());
    CHECK(sent(machine.on_persisted(5, true, t0)) == std::vector<wire::Message>{wire::Ack{5}, wire::Ack{7}});
}

TEST_CASE("an ms_list out of range closes, and nothing is persisted") {
    auto machine = established();
    auto close =
        only<Machine::Close>(machine.on_message(wire::MsList{7, {"ms2:8250"}, "static", 31536001, {}}, t0));
    CHECK(close.reason == Reason::protocol_error);
    CHECK_THAT(close.detail, Catch::StartsWith("protocol error: ms_list (seq 7): check interval 31536001 s"));
    CHECK(all_of<Machine::Persist>(machine.on_message(wire::MsList{8, {"ms2:8250"}, "static", 0, {}}, t0))
              .empty());
}

TEST_CASE("ping is answered with pong of the same seq") {
    auto machine = established();
    CHECK(sent(machine.on_message(wire::Ping{42}, t0)) == std::vector<wire::Message>{wire::Pong{42}});
}

TEST_CASE("missed pongs close the session after kMissedHeartbeatsBeforeDead pings") {
    auto machine = established();
    auto t = t0;
    for (std::int64_t seq = 1; seq <= tls::kMissedHeartbeatsBeforeDead; ++seq) {
        t += 15s;
        CHECK(sent(machine.on_timer(t)) == std::vector<wire::Message>{wire::Ping{seq}});
    }
    t += 15s;
    auto close = only<Machine::Close>(machine.on_timer(t));
    CHECK(close.reason == Reason::heartbeat_missed);
    CHECK(close.detail == "no pong for 3 heartbeats");
    CHECK(machine.state() == State::closed);
}

TEST_CASE("a pong keeps the session, a pong answers no more than was sent") {
    CHECK(answered_pings(2, 5, wire::Pong{9}) == 5);
    CHECK(answered_pings(4, 5, wire::Pong{1}) == 4);

    auto machine = established();
    auto t = t0;
    for (int i = 0; i < 10; ++i) {
        t += 15s;
        auto actions = machine.on_timer(t);
        REQUIRE(all_of<Machine::Close>(actions).empty());
        const auto ping = std::get<wire::Ping>(only<Machine::Send>(actions).message);
        machine.on_message(wire::Pong{ping.seq}, t);
    }
    // A pong naming pings never sent does not pay for the ones to come.
    machine.on_message(wire::Pong{1000}, t);
    CHECK(machine.pings_answered() == 10);
}

TEST_CASE("migrate avoids the servers it names and the server that sent it, once") {
    CHECK(avoid_after_migrate(wire::Migrate{"r", {"a"}, {}}, "b") == std::vector<std::string>{"a", "b"});
    CHECK(avoid_after_migrate(wire::Migrate{"r", {"B:8250"}, {}}, "b") == std::vector<std::string>{"B:8250"});

    auto machine = established();
    auto migrate =
        only<Machine::Migrate>(machine.on_message(wire::Migrate{"drain\x07", {"ms3:8250"}, {}}, t0));
    CHECK(migrate.reason == "drain\\x07");
    CHECK(migrate.avoid == std::vector<std::string>{"ms3:8250", "ms1:8250"});
    auto again = only<Machine::Migrate>(machine.on_message(wire::Migrate{"r", {"ms1"}, {}}, t0));
    CHECK(again.avoid == std::vector<std::string>{"ms1"});
    CHECK(again.to.empty());
    // A move towards named servers (a rebalance) keeps the sender usable: the
    // agent may decline and stay on it.
    auto towards = only<Machine::Migrate>(machine.on_message(wire::Migrate{"r", {"ms3"}, {"ms2"}}, t0));
    CHECK(towards.avoid == std::vector<std::string>{"ms3"});
    CHECK(towards.to == std::vector<std::string>{"ms2"});
    CHECK(machine.state() == State::established);
}

TEST_CASE("renew is sent only on an established session") {
    Machine machine(settings());
    CHECK(machine.renew("CSR").empty());
    machine.start(hello(), t0);
    CHECK(machine.renew("CSR").empty());
    machine.on_message(welcome(), t0);
    CHECK(sent(machine.renew("CSR")) == std::vector<wire::Message>{wire::Renew{"CSR"}});
    machine.close("stop", true);
    CHECK(machine.renew("CSR").empty());
}

TEST_CASE("trust and reissue after welcome are handed to the agent and keep the session") {
    auto machine = established();
    const wire::Trust trust{{"CA 1", "CA 2"}};
    CHECK(only<Machine::TrustReceived>(machine.on_message(trust, t0)).trust == trust);
    only<Machine::ReissueRequested>(machine.on_message(wire::Reissue{}, t0));
    CHECK(machine.state() == State::established);
}

TEST_CASE("trust before welcome is a protocol error") {
    Machine machine(settings());
    machine.start(hello(), t0);
    machine.on_message(wire::Trust{{"CA"}}, t0);
    CHECK(machine.state() == State::closed);
}

TEST_CASE("certificate, error after welcome and a second welcome do not end the session") {
    auto machine = established();
    const wire::Certificate cert{"CERT", "CA"};
    CHECK(only<Machine::CertificateReceived>(machine.on_message(cert, t0)).certificate == cert);
    auto error = only<Machine::ServerError>(
        machine.on_message(wire::make_error(wire::ErrorCode::superseded, "newer\nsession"), t0));
    CHECK(error.code == wire::ErrorCode::superseded);
    CHECK(error.detail == "superseded: newer\\x0asession");
    only<Machine::Ignored>(machine.on_message(welcome(), t0));
    CHECK(machine.state() == State::established);
}

TEST_CASE("a message only an agent sends closes the session") {
    auto message = GENERATE(wire::Message{wire::Hello{}},
                            wire::Message{wire::Ack{1}},
                            wire::Message{wire::Renew{"csr"}},
                            wire::Message{wire::EnrollRequest{}},
                            wire::Message{wire::EnrollResponse{}});
    auto machine = established();
    auto close = only<Machine::Close>(machine.on_message(message, t0));
    CHECK(close.reason == Reason::protocol_error);
    CHECK(close.detail == "unexpected " + std::string(wire::message_type(message)) + " from the server");
}

TEST_CASE("bytes are decoded across reads, several messages per read") {
    Machine machine(settings());
    machine.start(hello(), t0);
    const std::string bytes =
        frame(welcome()) + frame(wire::Ping{3}) + frame(wire::MsList{2, {"ms2"}, "static", 0, {}});
    auto first = machine.on_bytes(bytes.data(), 5, t0);
    CHECK(first.empty());
    auto rest = machine.on_bytes(bytes.data() + 5, bytes.size() - 5, t0);
    REQUIRE(rest.size() == 3);
    CHECK(std::holds_alternative<Machine::Welcomed>(rest[0]));
    CHECK(std::get<Machine::Send>(rest[1]).message == wire::Message{wire::Pong{3}});
    CHECK(std::get<Machine::Persist>(rest[2]).list.seq == 2);
}

TEST_CASE("a bad frame closes, before and after welcome") {
    const std::string empty_frame("\0\0\0\0", 4);
    SECTION("before") {
        Machine machine(settings());
        machine.start(hello(), t0);
        auto close = only<Machine::Close>(machine.on_bytes(empty_frame.data(), empty_frame.size(), t0));
        CHECK(close.reason == Reason::protocol_error);
        CHECK_THAT(close.detail, Catch::StartsWith("protocol error before welcome: bad frame"));
    }
    SECTION("after, and what follows it is not read") {
        auto machine = established();
        const std::string not_json("\0\0\0\x05{oops", 9);
        const std::string bad = frame(wire::Ping{1}) + not_json + frame(wire::Ping{2});
        auto actions = machine.on_bytes(bad.data(), bad.size(), t0);
        REQUIRE(actions.size() == 2);
        CHECK(std::get<Machine::Send>(actions[0]).message == wire::Message{wire::Pong{1}});
        auto close = std::get<Machine::Close>(actions[1]);
        CHECK(close.reason == Reason::protocol_error);
        CHECK_THAT(close.detail, Catch::StartsWith("protocol error: bad message"));
        CHECK(machine.on_bytes(bad.data(), bad.size(), t0).empty());
    }
}

TEST_CASE("the driver's close is the one close path, and after it nothing is sent") {
    auto machine = established();
    only<Machine::Persist>(machine.on_message(wire::MsList{3, {"ms2:8250"}, "static", 0, {}}, t0));
    auto close = only<Machine::Close>(machine.close("switched to ms2:8250", true));
    CHECK(close.reason == Reason::local);
    CHECK(close.flush_first);
    CHECK(machine.close("again", false).empty());
    CHECK(machine.on_persisted(3, true, t0).empty());
    CHECK(machine.on_timer(t0 + 1h).empty());
    CHECK(machine.on_message(wire::Ping{1}, t0).empty());
}

TEST_CASE("the agent reports its last ping round trip with the next ping") {
    Machine machine(settings());
    machine.start(hello(), t0);
    machine.on_message(welcome(10), t0);
    CHECK_FALSE(machine.last_rtt());
    // No round trip measured yet: the first ping carries none.
    CHECK(sent(machine.on_timer(t0 + 10s)) == std::vector<wire::Message>{wire::Ping{1}});
    machine.on_message(wire::Pong{1}, t0 + 10s + 3ms);
    REQUIRE(machine.last_rtt());
    CHECK(*machine.last_rtt() == 3ms);
    CHECK(sent(machine.on_timer(t0 + 20s)) == std::vector<wire::Message>{wire::Ping{2, 3000}});
    // A late pong for an older ping measures nothing.
    machine.on_message(wire::Pong{1}, t0 + 21s);
    CHECK(*machine.last_rtt() == 3ms);
    machine.on_message(wire::Pong{2}, t0 + 20s + 7ms);
    CHECK(*machine.last_rtt() == 7ms);
    // A pong already counted (answered twice) does not measure again.
    machine.on_message(wire::Pong{2}, t0 + 25s);
    CHECK(*machine.last_rtt() == 7ms);
    CHECK(sent(machine.on_timer(t0 + 30s)) == std::vector<wire::Message>{wire::Ping{3, 7000}});
}
