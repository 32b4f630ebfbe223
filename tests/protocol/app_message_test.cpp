// `app` messages (issue 19) through both sides' machines: passed on only
// when the agent announced an app socket, never before welcome, and an agent
// that sends one it did not announce, or a kind only servers send, is closed.

#include "common/protocol/agent_machine.hpp"
#include "tests/protocol/server_machine_fixture.hpp"

using namespace agentlb;
using namespace agentlb::protocol;
using namespace agentlb::protocol::test;

namespace {

wire::App app_message(std::int64_t sequence) {
    return wire::App{"message", "cloudstack", 5, sequence, 1, 0, "application/json", "{\"cmd\":1}"};
}

// Drives a server session to welcome, its hello announcing an app socket or not.
void welcome_announcing(Session& s, bool app) {
    auto hello = hello_from("agent-1", "a,b@static");
    hello.app = app;
    s.hello(hello);
    REQUIRE(s.machine.state() == State::looking_up);
    s.machine.on_lookup(found({"a", "b"}), s.seqs, t0 + 3s);
    s.machine.on_recorded(t0 + 3s);
    REQUIRE(s.machine.state() == State::established);
}

AgentMachine started_agent(bool app) {
    AgentMachine machine(AgentMachine::Settings{"ms1:8250"});
    auto hello = wire::Hello{"kvm-1", "default", "", 0, "test"};
    hello.app = app;
    machine.start(hello, t0);
    return machine;
}

}  // namespace

TEST_CASE("server: a host's app messages go to the driver once it announced an app socket") {
    Session s;
    welcome_announcing(s, true);
    CHECK(s.machine.takes_app());
    const auto actions = s.machine.on_message(app_message(1), t0 + 4s);
    CHECK(only<AppFromHost>(actions).app == app_message(1));
    const auto ack = wire::App{"ack", "cloudstack", 9, 3, 0, 0, "", ""};
    CHECK(only<AppFromHost>(s.machine.on_message(ack, t0 + 4s)).app == ack);
    CHECK(s.machine.state() == State::established);

    // The other way: sent on the established session.
    CHECK(sent(s.machine.send_app(app_message(2))) == std::vector<wire::Message>{app_message(2)});
}

TEST_CASE("server: an app message from an agent that announced no app socket closes its session") {
    Session s;
    welcome_announcing(s, false);
    CHECK_FALSE(s.machine.takes_app());
    CHECK(s.machine.send_app(app_message(1)).empty());
    const auto close = only<Close>(s.machine.on_message(app_message(1), t0 + 4s));
    CHECK(close.reason == CloseReason::unexpected_message);
    CHECK(close.detail == "app message, but hello announced no app socket");
}

TEST_CASE("server: an agent cannot send what only a server sends, and nothing goes before welcome") {
    Session before;
    auto hello = hello_from("agent-1");
    hello.app = true;
    before.hello(hello);
    REQUIRE(before.machine.state() == State::looking_up);
    CHECK(before.machine.send_app(app_message(1)).empty());

    Session s;
    welcome_announcing(s, true);
    const auto close = only<Close>(
        s.machine.on_message(wire::App{"undeliverable", "cloudstack", 5, 1, 0, 0, "", "no host"}, t0 + 4s));
    CHECK(close.reason == CloseReason::unexpected_message);
    CHECK(close.detail == "app message of kind 'undeliverable' from an agent");

    // The peer link's message is not the agent port's, whoever sends it.
    Session relaying;
    welcome_announcing(relaying, true);
    const auto relayed =
        only<Close>(relaying.machine.on_message(wire::Relay{"host", "agent-2", app_message(1)}, t0 + 4s));
    CHECK(relayed.reason == CloseReason::unexpected_message);
    CHECK(relayed.detail == "unexpected message 'relay'");
    AgentMachine agent = started_agent(true);
    agent.on_message(wire::Welcome{7, "ms1", 15, std::nullopt}, t0 + 1s);
    const auto actions = agent.on_message(wire::Relay{"host", "agent-1", app_message(1)}, t0 + 2s);
    REQUIRE(actions.size() == 1);
    CHECK(std::get<AgentMachine::Close>(actions[0]).detail == "unexpected relay from the server");
}

TEST_CASE("agent: app messages pass both ways only after welcome, and only when hello announced them") {
    AgentMachine machine = started_agent(true);
    CHECK(machine.send_app(app_message(1)).empty());
    machine.on_message(wire::Welcome{7, "ms1", 15, std::nullopt}, t0 + 1s);
    REQUIRE(machine.state() == AgentMachine::State::established);

    const auto sent_actions = machine.send_app(app_message(1));
    REQUIRE(sent_actions.size() == 1);
    CHECK(std::get<AgentMachine::Send>(sent_actions[0]).message == wire::Message{app_message(1)});

    const auto received = machine.on_message(app_message(4), t0 + 2s);
    REQUIRE(received.size() == 1);
    CHECK(std::get<AgentMachine::AppReceived>(received[0]).app == app_message(4));
}

TEST_CASE("agent: a server that sends app messages to an agent without an app socket is broken") {
    AgentMachine machine = started_agent(false);
    machine.on_message(wire::Welcome{7, "ms1", 15, std::nullopt}, t0 + 1s);
    CHECK(machine.send_app(app_message(1)).empty());
    const auto actions = machine.on_message(app_message(1), t0 + 2s);
    REQUIRE(actions.size() == 1);
    const auto& close = std::get<AgentMachine::Close>(actions[0]);
    CHECK(close.reason == AgentMachine::CloseReason::protocol_error);
    CHECK(close.detail == "unexpected app from the server");
    CHECK(machine.state() == AgentMachine::State::closed);
}
